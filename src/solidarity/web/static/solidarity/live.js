// Refreshes the campaign totals without reloading: polls a small cacheable JSON document
// (ETag, max-age 2 s) every few seconds while the page is visible. No websocket.
(function () {
  "use strict";
  var box = document.getElementById("totals");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-totals-url");
  var lang = box.getAttribute("data-lang") === "pt-br" ? "pt-BR" : box.getAttribute("data-lang");
  var currency = box.getAttribute("data-currency");
  var money = new Intl.NumberFormat(lang, { style: "currency", currency: currency });
  var count = new Intl.NumberFormat(lang);
  var pct = new Intl.NumberFormat(lang, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var exponent = money.resolvedOptions().maximumFractionDigits;
  var etag = null;
  var last = null;

  function set(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function show(t) {
    var raised = t.raised_minor / Math.pow(10, exponent);
    set("raised", money.format(raised));
    set("gifts", count.format(t.donation_count));
    set("donors", count.format(t.donor_count));
    var ratio = t.raised_minor / t.goal_minor;
    set("percent", pct.format(ratio));
    var bar = document.getElementById("progress");
    if (bar) bar.value = Math.min(ratio * 100, 100);
  }

  function poll() {
    if (document.hidden) return;
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, cache: "no-cache" })
      .then(function (r) {
        if (r.status === 304) return null;
        if (!r.ok) throw new Error(r.status);
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (t) {
        if (t && JSON.stringify(t) !== last) {
          last = JSON.stringify(t);
          show(t);
        }
      })
      .catch(function () { /* keep the figures the page was served with */ });
  }

  setInterval(poll, 5000);
  document.addEventListener("visibilitychange", poll);
})();
