// Checks a gift's receipt in the browser, trusting nothing the server says about it:
// - the checkpoint is a C2SP signed note (c2sp.org/signed-note) carrying an Ed25519 signature
//   by the log's key (key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key));
// - the entry's RFC 9162 leaf hash (SHA-256(0x00 || entry)) leads through the inclusion proof
//   to the checkpoint's root (RFC 9162 §2.1.3.2);
// - the latest published checkpoint is consistent with the receipt's and with the last one this
//   browser saw (RFC 9162 §2.1.4.2), so the log has only grown;
// - after a key rotation, a checkpoint signed by a later key is accepted only through the
//   links (the receipt's "keys", or the log's keys.json): each a `key` entry naming the next
//   key, proven included in a checkpoint signed by the key before it.
// Plain JavaScript and WebCrypto (SHA-256, Ed25519); no build step, no library.
// Stand-alone (the downloadable verifier.html, no data-origin): the campaign and origin come
// from the receipt, nothing is fetched, and a key taken from the receipt itself is reported
// as such: the reader compares it with the key the campaign publishes.
(function () {
  "use strict";
  var root = document.getElementById("verifier");
  if (!root || !window.crypto || !crypto.subtle) return;
  var enc = new TextEncoder();
  var form = document.getElementById("verify-form");
  var slug = root.getAttribute("data-slug");
  var origin = root.getAttribute("data-origin");

  function msg(k) {
    var el = document.getElementById("messages").content.querySelector('[data-k="' + k + '"]');
    return el ? el.textContent.trim() : k;
  }

  function Failure(check, detail) {
    this.check = check;
    this.detail = detail;
  }

  function fail(check, detail) {
    throw new Failure(check, detail);
  }

  function b64(text, check, what) {
    try {
      var bin = atob(text);
    } catch (e) {
      fail(check, what + ": bad base64");
    }
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function toB64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }

  function concat() {
    var n = 0, i;
    for (i = 0; i < arguments.length; i++) n += arguments[i].length;
    var out = new Uint8Array(n), off = 0;
    for (i = 0; i < arguments.length; i++) {
      out.set(arguments[i], off);
      off += arguments[i].length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function node(left, right) {
    return sha256(concat(new Uint8Array([1]), left, right));
  }

  // --- keys and signed notes -----------------------------------------------------------

  async function parseVkey(text) {
    // "<name>+<hex id>+<base64>": the name has no "+", the base64 may.
    var t = text.trim(), a = t.indexOf("+"), b = a < 0 ? -1 : t.indexOf("+", a + 1);
    var parts = b < 0 ? [t] : [t.slice(0, a), t.slice(a + 1, b), t.slice(b + 1)];
    if (parts.length !== 3 || !parts[0] || /\s/.test(parts[0])) fail("key", "a verifier key reads <name>+<id>+<key>");
    var raw = b64(parts[2], "key", "key");
    if (raw.length !== 33 || raw[0] !== 1) fail("key", "not an Ed25519 verifier key");
    var id = (await sha256(concat(enc.encode(parts[0] + "\n"), raw))).slice(0, 4);
    if (!/^[0-9a-f]{8}$/.test(parts[1]) || parts[1] !== Array.from(id, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("")) fail("key", "the key ID does not match the key");
    var pub = raw.slice(1);
    var key;
    try {
      key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      fail("key", "this browser cannot check Ed25519 signatures (" + e.name + ")");
    }
    return { name: parts[0], id: id, key: key, text: t };
  }

  // Returns the note's text once a signature line by `vkey` verifies over it.
  async function openNote(note, vkey, check) {
    var split = note.lastIndexOf("\n\n");
    if (split < 0) fail(check, "the checkpoint has no signature block");
    var text = note.slice(0, split + 1);
    var sigs = note.slice(split + 2);
    if (!sigs.endsWith("\n")) fail(check, "the signature block must end with a newline");
    var lines = sigs.slice(0, -1).split("\n");
    var data = enc.encode(text);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (!line.startsWith("\u2014 ")) fail(check, "malformed signature line");
      var fields = line.slice(2).split(" ");
      if (fields.length !== 2) fail(check, "malformed signature line");
      if (fields[0] !== vkey.name) continue;
      var sig = b64(fields[1], check, "signature");
      if (sig.length !== 68 || !equal(sig.slice(0, 4), vkey.id)) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, vkey.key, sig.slice(4), data)) return text;
      fail(check, "the signature does not verify: the checkpoint was altered or signed by another key");
    }
    fail(check, "no signature by " + vkey.name + " on the checkpoint");
  }

  // A witness's cosigner key (c2sp.org/tlog-cosignature): signature type 0x04.
  async function parseCosigner(text) {
    var t = String(text).trim(), a = t.indexOf("+"), b = a < 0 ? -1 : t.indexOf("+", a + 1);
    if (b < 0 || a === 0) fail("witnesses", "a witness key reads <name>+<id>+<key>");
    var name = t.slice(0, a), hex = t.slice(a + 1, b);
    var raw = b64(t.slice(b + 1), "witnesses", "witness key");
    if (raw.length !== 33 || raw[0] !== 4) fail("witnesses", "not a witness cosignature key (type 0x04): " + name);
    var id = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
    if (hex !== Array.from(id, function (x) { return x.toString(16).padStart(2, "0"); }).join("")) {
      fail("witnesses", "the key ID of witness " + name + " does not match its key");
    }
    var key;
    try {
      key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      fail("witnesses", "this browser cannot check Ed25519 signatures (" + e.name + ")");
    }
    return { name: name, id: id, key: key };
  }

  // The names of the witnesses whose cosignature/v1 on the note verifies; fails on a bad one.
  async function cosignedBy(note, cosigners) {
    var split = note.lastIndexOf("\n\n");
    var text = note.slice(0, split + 1);
    var lines = note.slice(split + 2, -1).split("\n");
    var names = [];
    for (var i = 0; i < lines.length; i++) {
      var fields = lines[i].slice(2).split(" ");
      for (var j = 0; j < cosigners.length; j++) {
        var c = cosigners[j];
        if (fields[0] !== c.name || names.indexOf(c.name) >= 0) continue;
        var sig = b64(fields[1] || "", "witnesses", "cosignature");
        if (sig.length !== 76 || !equal(sig.slice(0, 4), c.id)) continue;
        var ts = 0n;
        for (var k = 4; k < 12; k++) ts = (ts << 8n) | BigInt(sig[k]);
        var signed = enc.encode("cosignature/v1\ntime " + ts.toString() + "\n" + text);
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, c.key, sig.slice(12), signed))) {
          fail("witnesses", "the cosignature of " + c.name + " does not verify");
        }
        names.push(c.name);
      }
    }
    return names;
  }

  // The given key, then each key announced after it by a proven link, oldest first.
  async function followKeys(first, links) {
    var keys = [first], start = 0, n;
    for (n = 0; n < links.length; n++) {
      if (links[n] && typeof links[n].entry === "string" && links[n].entry.indexOf(first.text) >= 0) start = n + 1;
    }
    for (n = start; n < links.length; n++) {
      var link = links[n], current = keys[keys.length - 1];
      if (!link || typeof link.entry !== "string" || !Number.isInteger(link.index) ||
          !Array.isArray(link.proof) || typeof link.checkpoint !== "string") {
        fail("rotation", "a key link lacks entry, index, proof or checkpoint");
      }
      var lcp = parseCheckpoint(await openNote(link.checkpoint, current, "rotation"), "rotation");
      if (lcp.origin !== origin) fail("rotation", "a key link is for another log");
      var leaf = await sha256(concat(new Uint8Array([0]), enc.encode(link.entry)));
      var proof = link.proof.map(function (h) { return b64(h, "rotation", "proof"); });
      if (!equal(await inclusionRoot(leaf, BigInt(link.index), lcp.size, proof), lcp.root)) {
        fail("rotation", "a key announcement is not in the checkpoint of the key before it");
      }
      var e;
      try { e = JSON.parse(link.entry); } catch (err) { fail("rotation", "a key entry is not JSON"); }
      if (e.kind !== "key" || typeof e.vkey !== "string") fail("rotation", "a key link names no key entry");
      var next = await parseVkey(e.vkey);
      if (next.name !== current.name) fail("rotation", "a key link announces a key of another log");
      keys.push(next);
    }
    return keys;
  }

  // The note's text once a signature by one of `keys` (the newest first) verifies over it.
  async function openAny(note, keys, check) {
    var first = null;
    for (var i = keys.length - 1; i >= 0; i--) {
      try {
        return await openNote(note, keys[i], check);
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        first = first || e;
      }
    }
    throw first;
  }

  async function publishedLinks() {
    if (!root.getAttribute("data-checkpoint-url")) return [];
    try {
      var url = root.getAttribute("data-checkpoint-url").replace(/checkpoint$/, "keys.json");
      var r = await fetch(url, { cache: "no-store" });
      if (!r.ok) return [];
      var links = await r.json();
      return Array.isArray(links) ? links : [];
    } catch (e) {
      return [];
    }
  }

  function parseCheckpoint(text, check) {
    var lines = text.split("\n");
    if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) fail(check, "malformed checkpoint");
    var hash = b64(lines[2], check, "root");
    if (hash.length !== 32) fail(check, "the root hash is not 32 bytes");
    return { origin: lines[0], size: BigInt(lines[1]), root: hash };
  }

  // --- RFC 9162 proofs ----------------------------------------------------------------

  async function inclusionRoot(leaf, index, size, proof) {
    if (index >= size) fail("inclusion", "index " + index + " is outside the tree of size " + size);
    var fn = index, sn = size - 1n, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0n) fail("inclusion", "the proof is too long");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await node(proof[i], r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        r = await node(r, proof[i]);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) fail("inclusion", "the proof is too short");
    return r;
  }

  async function consistent(first, second, proof, check) {
    if (first.size > second.size) fail(check, "the log shrank from " + first.size + " to " + second.size + " entries");
    if (first.size === second.size) {
      if (!equal(first.root, second.root)) fail(check, "two different trees of the same size: the log forked");
      return;
    }
    if (first.size === 0n) return;
    if (!proof.length) fail(check, "empty consistency proof");
    var path = proof.slice();
    if ((first.size & (first.size - 1n)) === 0n) path.unshift(first.root);
    var fn = first.size - 1n, sn = second.size - 1n;
    while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
    var fr = path[0], sr = path[0];
    for (var i = 1; i < path.length; i++) {
      var c = path[i];
      if (sn === 0n) fail(check, "the consistency proof is too long");
      if ((fn & 1n) === 1n || fn === sn) {
        fr = await node(c, fr);
        sr = await node(c, sr);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        sr = await node(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n || !equal(fr, first.root) || !equal(sr, second.root)) {
      fail(check, "the newer checkpoint does not extend the older one: the log was rewritten");
    }
  }

  async function fetchConsistency(first, second, check) {
    var url = root.getAttribute("data-consistency-url")
      .replace("{from}", String(first.size)).replace("{to}", String(second.size));
    var r = await fetch(url, { cache: "no-store" });
    if (!r.ok) fail(check, "no consistency proof from " + first.size + " to " + second.size + " (HTTP " + r.status + ")");
    var body = await r.json();
    var list = Array.isArray(body) ? body : (body.proof || body.hashes || body.consistency || []);
    return list.map(function (h) { return b64(h, check, "proof"); });
  }

  // --- the whole check ------------------------------------------------------------------

  async function run(refText, pasted, vkeyText, report) {
    function ok(k, detail) { report.checks.push({ k: k, ok: true, detail: detail || "" }); }
    function skip(k, detail) { report.checks.push({ k: k, ok: null, detail: detail || "" }); }

    var receipt;
    if (pasted.trim()) {
      try { receipt = JSON.parse(pasted); } catch (e) { fail("receipt", "the receipt is not JSON"); }
    } else {
      if (!refText || !root.getAttribute("data-receipt-url")) fail("receipt", msg("need_input"));
      var url = root.getAttribute("data-receipt-url").replace("{ref}", encodeURIComponent(refText));
      var r = await fetch(url, { cache: "no-store" });
      if (r.status === 404 || r.status === 202) fail("receipt", msg("no_receipt"));
      if (!r.ok) fail("receipt", "HTTP " + r.status);
      receipt = await r.json();
    }
    if (!receipt || typeof receipt.entry !== "string" || !Number.isInteger(receipt.index) ||
        !Array.isArray(receipt.proof) || typeof receipt.checkpoint !== "string") {
      fail("receipt", "the receipt lacks entry, index, proof or checkpoint");
    }
    // The key shown on the page (or typed by the visitor) wins over one the receipt carries.
    if (!root.getAttribute("data-origin")) {
      origin = String(receipt.origin || "");
      slug = String(receipt.campaign || "");
    }
    var vkey = await parseVkey(vkeyText || receipt.vkey || "");
    if (vkeyText) ok("key");
    else skip("key_from_receipt", String(receipt.vkey || ""));
    var links = Array.isArray(receipt.keys) ? receipt.keys : [];
    var published = await publishedLinks();
    if (published.length > links.length) links = published;
    var keys = await followKeys(vkey, links);
    if (keys.length > 1) ok("rotation", String(keys.length - 1));

    var cpText = await openAny(receipt.checkpoint, keys, "signature");
    var cp = parseCheckpoint(cpText, "signature");
    ok("signature");
    if (cp.origin !== origin) fail("origin", "the checkpoint is for " + cp.origin + ", not " + origin);
    ok("origin");

    // The witnesses and quorum shown on the page win over those the receipt carries.
    var pageWitnesses = JSON.parse(root.getAttribute("data-witnesses") || "[]");
    var pageQuorum = Number(root.getAttribute("data-quorum") || "0");
    var useReceipt = pageWitnesses.length === 0;
    var witnessKeys = useReceipt ? (Array.isArray(receipt.witnesses) ? receipt.witnesses : []) : pageWitnesses;
    var quorum = Math.max(pageQuorum, useReceipt && Number.isInteger(receipt.quorum) ? receipt.quorum : 0);
    if (witnessKeys.length || quorum) {
      var cosigners = [];
      for (var w = 0; w < witnessKeys.length; w++) cosigners.push(await parseCosigner(witnessKeys[w]));
      var names = await cosignedBy(receipt.checkpoint, cosigners);
      if (names.length < quorum) {
        fail("witnesses", names.length + " of the " + quorum + " witness cosignatures required" +
          (names.length ? " (" + names.join(", ") + ")" : ""));
      }
      ok("witnesses", names.join(", ") + " (" + names.length + "/" + quorum + ")");
    } else {
      skip("witnesses", "this log has no witnesses");
    }

    var entryBytes = enc.encode(receipt.entry);
    var leaf = await sha256(concat(new Uint8Array([0]), entryBytes));
    var proof = receipt.proof.map(function (h) {
      var p = b64(h, "inclusion", "proof");
      if (p.length !== 32) fail("inclusion", "a proof hash is not 32 bytes");
      return p;
    });
    var computed = await inclusionRoot(leaf, BigInt(receipt.index), cp.size, proof);
    if (!equal(computed, cp.root)) {
      fail("inclusion", "the entry and proof lead to a different root than the signed one: the receipt was altered");
    }
    ok("inclusion");
    report.index = receipt.index;
    report.size = cp.size;

    var entry;
    try { entry = JSON.parse(receipt.entry); } catch (e) { fail("entry", "the entry is not JSON"); }
    if (entry.campaign !== slug) fail("entry", "the entry belongs to campaign " + entry.campaign);
    if (refText && !pasted.trim() && entry.ref !== refText) fail("entry", "the entry is for reference " + entry.ref);
    ok("entry");
    report.entry = entry;

    // The newest published checkpoint must contain the receipt's tree.
    var latest = cp;
    var cpResponse = null;
    try {
      if (root.getAttribute("data-checkpoint-url")) {
        cpResponse = await fetch(root.getAttribute("data-checkpoint-url"), { cache: "no-store" });
      }
    } catch (e) { cpResponse = null; }
    if (cpResponse && cpResponse.ok) {
      var note = await cpResponse.text();
      latest = parseCheckpoint(await openAny(note, keys, "latest"), "latest");
      if (latest.origin !== origin) fail("latest", "the published checkpoint is for another log");
      var p1 = latest.size > cp.size ? await fetchConsistency(cp, latest, "latest") : [];
      await consistent(cp, latest, p1, "latest");
      ok("latest", String(latest.size));
    } else {
      skip("latest", "no published checkpoint");
    }

    // ... and extend the last one this browser saw.
    var storeKey = "solidarity:checkpoint:" + origin;
    var seen = null;
    try { seen = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { seen = null; }
    if (!root.getAttribute("data-consistency-url")) {
      skip("seen", "offline");
      return report;
    }
    if (seen && seen.size !== undefined) {
      var before = { size: BigInt(seen.size), root: b64(seen.root, "seen", "stored root") };
      var p2 = latest.size > before.size ? await fetchConsistency(before, latest, "seen") : [];
      await consistent(before, latest, p2, "seen");
      ok("seen", String(before.size) + " → " + String(latest.size));
    } else {
      skip("seen", "first visit");
    }
    try {
      localStorage.setItem(storeKey, JSON.stringify({ size: String(latest.size), root: toB64(latest.root) }));
    } catch (e) { /* private mode: nothing remembered */ }
    return report;
  }

  // --- rendering ------------------------------------------------------------------------

  var result = document.getElementById("result");
  var verdict = document.getElementById("verdict");
  var list = document.getElementById("checks");
  var entryBox = document.getElementById("entry");

  function li(text, cls) {
    var el = document.createElement("li");
    el.textContent = text;
    if (cls) el.className = cls;
    list.appendChild(el);
  }

  function show(report, failure) {
    list.textContent = "";
    entryBox.textContent = "";
    result.hidden = false;
    (report ? report.checks : []).forEach(function (c) {
      // Who cosigned is part of the answer: the witnesses check shows its names.
      var who = c.k === "witnesses" && c.ok ? ": " + c.detail : "";
      li((c.ok === null ? "– " : "✓ ") + msg(c.k) + who + (c.ok === null ? " (" + msg("skipped") + ")" : ""),
         c.ok === null ? "skip" : "pass");
    });
    if (failure) {
      verdict.className = "verdict bad";
      verdict.setAttribute("data-verified", "false");
      var why = failure instanceof Failure ? failure.detail : String(failure && failure.message || failure);
      var label = failure instanceof Failure && failure.check !== "receipt" ? msg(failure.check) + ": " : "";
      verdict.textContent = msg("not_verified") + " — " + label + why;
      if (failure instanceof Failure && failure.check !== "receipt") li("✗ " + msg(failure.check), "fail");
      return;
    }
    verdict.className = "verdict good";
    verdict.setAttribute("data-verified", "true");
    verdict.textContent = msg("verified");
    var e = report.entry || {};
    var lang = document.documentElement.lang === "pt-br" ? "pt-BR" : document.documentElement.lang;
    var rows = [];
    if (e.amount !== undefined && e.currency) {
      var f = new Intl.NumberFormat(lang, { style: "currency", currency: e.currency });
      var exp = f.resolvedOptions().maximumFractionDigits;
      rows.push(["amount", f.format(e.amount / Math.pow(10, exp))]);
    }
    if (e.donor) rows.push(["donor", e.donor]);
    if (e.at) rows.push(["at", new Date(e.at).toLocaleString(lang)]);
    if (e.memo) rows.push(["memo", e.memo]);
    rows.push(["index", "#" + report.index]);
    rows.push(["size", String(report.size)]);
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = msg(row[0]);
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      entryBox.appendChild(dt);
      entryBox.appendChild(dd);
    });
  }

  async function go(event) {
    if (event) event.preventDefault();
    var ref = document.getElementById("ref").value.trim().toUpperCase();
    var pasted = document.getElementById("receipt").value;
    var vkey = document.getElementById("vkey").value.trim();
    result.hidden = false;
    verdict.className = "verdict";
    verdict.removeAttribute("data-verified");
    verdict.textContent = msg("fetching");
    list.textContent = "";
    entryBox.textContent = "";
    var report = { checks: [], entry: null, index: null, size: null };
    try {
      await run(ref, pasted, vkey, report);
      show(report, null);
    } catch (failure) {
      show(report, failure);
    }
    if (ref && root.getAttribute("data-origin") && window.history && history.replaceState) {
      history.replaceState(null, "", "?ref=" + encodeURIComponent(ref));
    }
  }

  var file = document.getElementById("receipt-file");
  if (file) {
    file.addEventListener("change", function () {
      if (!file.files || !file.files[0]) return;
      file.files[0].text().then(function (text) {
        document.getElementById("receipt").value = text;
        go(null);
      });
    });
  }
  form.addEventListener("submit", go);
  if (document.getElementById("ref").value.trim()) go(null);
})();
