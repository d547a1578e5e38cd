"""The public site in Chromium: language switch, search, and receipts checked by the browser.

A real server (`solidarity serve`, Granian) runs in a subprocess on a temporary
SOLIDARITY_HOME with the demo campaign and a sequenced log, so the browser fetches real
receipts, checkpoints and consistency proofs. Screenshots at phone and desktop widths land in
tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
SLUG = "cuba-2025"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":  # CI installs chromium; its absence is a failure there
        pytest.fail(f"CI=true but there is no chromium at {CHROMIUM}", pytrace=False)
    pytest.skip(
        "no chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("solidarity"))
    return subprocess.run(
        [exe, *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("site")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(SOLIDARITY_HOME=str(home), SOLIDARITY_HTTPS="false", SOLIDARITY_TESTING="1")
    _cli(env, "init")
    _cli(env, "demo", "--gifts", "2000")
    _cli(env, "log", "sequence", "--once")
    port = _free_port()
    exe = str(Path(sys.executable).with_name("solidarity"))
    server = subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield {"base": base, "home": str(home), **{f"env_{k}": v for k, v in env.items()}}
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _env(site: dict[str, str]) -> dict[str, str]:
    return {k[4:]: v for k, v in site.items() if k.startswith("env_")}


def _get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {}


def _shots(page, name: str) -> None:
    for label, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)


def _first_ref(site) -> str:
    status, data = _get_json(f"{site['base']}/api/v1/campaigns/{SLUG}/donations?limit=1&sort=time")
    assert status == 200
    return data["items"][0]["ref"]


def test_campaign_page_in_the_browsers_language_and_switching(site, browser):
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{site['base']}/c/{SLUG}/")
    assert page.url.endswith(f"/vi/c/{SLUG}/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Vì Cuba thân yêu"
    assert page.locator("svg.chart").count() == 4
    _shots(page, "campaign-vi")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"**/en/c/{SLUG}/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Latest gifts").is_visible()
    _shots(page, "campaign-en")
    page.goto(f"{site['base']}/es/c/{SLUG}/give/?amount=100000&ref=AN")
    assert page.locator("img.qr").first.evaluate("img => img.complete && img.naturalWidth > 0")
    _shots(page, "give-es")
    context.close()


def test_search_for_a_donor_without_accents(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{site['base']}/pt-br/c/{SLUG}/statement")
    page.get_by_label("Nome, palavras da descrição, referência, código bancário ou valor").fill(
        "huynh"
    )
    page.get_by_role("button", name="Buscar").click()
    page.wait_for_url("**q=huynh**")
    donors = page.locator("td.donor").all_inner_texts()
    memos = page.locator("td.memo").all_inner_texts()
    assert donors
    assert all(
        "HUYNH" in d.upper() or "huỳnh" in m.lower() or "huynh" in m.lower()
        for d, m in zip(donors, memos, strict=True)
    )
    _shots(page, "statement-pt-br")
    page.close()


JOURNEY = {
    "vi": ("Tìm", "Kiểm chứng ngay trên trình duyệt", "Thời gian (giờ Việt Nam)"),
    "en": ("Search", "Verify in my browser", "Time (Vietnam)"),
}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_donor_on_a_phone_finds_a_gift_by_bank_code_and_verifies_it(site, browser, lang):
    search, verify, time_label = JOURNEY[lang]
    code = f"FT25{17:011d}"  # the demo's bank transaction code of its 18th gift
    context = browser.new_context(
        locale="vi-VN" if lang == "vi" else "en-US", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    # Given a donor with the code their bank app showed, on the statement page of a phone
    page.goto(f"{site['base']}/{lang}/c/{SLUG}/statement")
    page.locator("#q").fill(code.lower())
    page.get_by_role("button", name=search, exact=True).click()
    page.wait_for_url("**q=**")
    # Then exactly that gift is listed, and its receipt link is on screen without scrolling
    rows = page.locator("table.statement tbody tr")
    assert rows.count() == 1
    assert code in page.locator("#read").inner_text()
    link = page.locator("td.receipt a")
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shots_phone(page, f"donor-{lang}-1-found")
    # When they open the receipt: Vietnam time, in their language, and a verify button
    link.click()
    page.wait_for_url("**/receipt/**")
    assert time_label in page.locator(".figures").inner_text()
    _shots_phone(page, f"donor-{lang}-2-receipt")
    page.get_by_role("link", name=verify).click()
    page.wait_for_url("**/verify/?ref=**")
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=15_000)
    assert verdict.get_attribute("data-verified") == "true", verdict.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shots_phone(page, f"donor-{lang}-3-verified")
    context.close()


def _shots_phone(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_receipt_is_verified_in_the_browser_and_the_log_only_grows(site, browser):
    ref = _first_ref(site)
    status, _receipt = _get_json(f"{site['base']}/c/{SLUG}/receipt/{ref}.json")
    assert status == 200, "the log was sequenced, so every gift has a receipt"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{site['base']}/en/c/{SLUG}/verify/?ref={ref}")
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=10_000)
    assert verdict.get_attribute("data-verified") == "true", verdict.inner_text()
    assert "Verified" in verdict.inner_text()
    _shots(page, "verify-ok")

    # The log grows: the browser checks the new checkpoint extends the one it remembered.
    _cli(_env(site), "demo", "--gifts", "2300")
    _cli(_env(site), "log", "sequence", "--once")
    page.reload()
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=10_000)
    assert verdict.get_attribute("data-verified") == "true", verdict.inner_text()
    checks = page.locator("#checks li.pass").all_inner_texts()
    assert any("only grown" in c for c in checks), checks
    context.close()


def test_a_receipt_without_its_quorum_of_cosignatures_is_not_verified(site, browser):
    from solidarity.core.tlog.checkpoint import checkpoint_parse
    from solidarity.core.tlog.cosignature import cosigner_key_generate, cosigner_signer_parse

    ref = _first_ref(site)
    _status, receipt = _get_json(f"{site['base']}/c/{SLUG}/receipt/{ref}.json")
    skey, vkey = cosigner_key_generate("witness.example.org", b"\x33" * 32)
    # Given a receipt whose log requires one witness, and a checkpoint nobody cosigned
    receipt["witnesses"], receipt["quorum"] = [vkey], 1
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{site['base']}/en/c/{SLUG}/verify/")
    page.locator("summary").click()
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(receipt))
    page.get_by_role("button", name="Verify", exact=True).click()
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=10_000)
    # Then the browser says it is not verified, and why
    assert verdict.get_attribute("data-verified") == "false"
    assert "Not verified" in verdict.inner_text()
    assert "0 of the 1 witness cosignatures required" in verdict.inner_text()
    _shots(page, "verify-no-quorum")

    # When the witness's cosignature is added, the same receipt verifies and names it
    text = receipt["checkpoint"][: receipt["checkpoint"].index("\n\n") + 1]
    checkpoint_parse(text)
    receipt["checkpoint"] += cosigner_signer_parse(skey).cosign(text, 1_767_000_000)
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(receipt))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_function("document.querySelector('#verdict').dataset.verified === 'true'")
    checks = page.locator("#checks li").all_inner_texts()
    assert any("witness.example.org (1/1)" in c for c in checks), checks
    page.close()


def test_receipts_verify_with_the_first_key_after_a_key_rotation(site, browser):
    # Given a donor who kept a receipt and the log's key as first published
    ref = _first_ref(site)
    _status, kept = _get_json(f"{site['base']}/c/{SLUG}/receipt/{ref}.json")
    first_vkey = _cli(_env(site), "log", "vkey", SLUG).stdout.strip()
    # When the log's key is rotated and more gifts are published under the new key
    out = _cli(_env(site), "log", "rotate-key", SLUG).stdout
    assert "now signed by" in out
    _cli(_env(site), "demo", "--gifts", "2400")
    _cli(_env(site), "log", "sequence", "--once")
    assert _cli(_env(site), "log", "vkey", SLUG).stdout.strip() != first_vkey
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{site['base']}/en/c/{SLUG}/verify/")
    page.locator("summary").click()
    page.get_by_label("Verifier key").fill(first_vkey)
    # Then the kept receipt verifies with the first key, the latest checkpoint (new key)
    # accepted through the rotation announced in the log
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(kept))
    page.get_by_role("button", name="Verify", exact=True).click()
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=10_000)
    assert verdict.get_attribute("data-verified") == "true", verdict.inner_text()
    checks = page.locator("#checks li.pass").all_inner_texts()
    assert any("key rotations" in c for c in checks), checks
    # And a gift published under the new key verifies with the first key too
    status, newest = _get_json(f"{site['base']}/c/{SLUG}/receipt/{_newest_ref(site)}.json")
    assert status == 200 and newest["keys"]
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(newest))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_function("document.querySelector('#verdict').dataset.verified === 'true'")
    # But not when the announcement is forged
    forged = json.loads(json.dumps(newest))
    forged["keys"][0]["index"] += 1
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(forged))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_function("document.querySelector('#verdict').dataset.verified === 'false'")
    page.close()


def _newest_ref(site) -> str:
    url = f"{site['base']}/api/v1/campaigns/{SLUG}/donations?limit=1&sort=-time"
    status, data = _get_json(url)
    assert status == 200
    return data["items"][0]["ref"]


def test_a_tampered_receipt_is_rejected_and_says_why(site, browser):
    ref = _first_ref(site)
    _status, receipt = _get_json(f"{site['base']}/c/{SLUG}/receipt/{ref}.json")
    entry = json.loads(receipt["entry"])
    entry["amount"] += 1_000_000
    receipt["entry"] = json.dumps(entry, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{site['base']}/en/c/{SLUG}/verify/")
    page.locator("summary").click()
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(receipt))
    page.get_by_role("button", name="Verify", exact=True).click()
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=10_000)
    assert verdict.get_attribute("data-verified") == "false"
    assert "Not verified" in verdict.inner_text()
    assert "altered" in verdict.inner_text()
    _shots(page, "verify-tampered")

    # A checkpoint signed by someone else is refused too.
    receipt2 = dict(receipt)
    lines = receipt["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) + 1)
    receipt2["checkpoint"] = "\n".join(lines)
    page.get_by_label("Receipt (JSON), if you saved one").fill(json.dumps(receipt2))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#verdict').dataset.verified === 'false'"
        " && document.querySelector('#verdict').textContent.includes('signature')"
    )
    page.close()


def test_the_downloaded_verifier_checks_a_real_receipt_offline_from_a_file(site, browser, tmp_path):
    # Given the stand-alone verifier and a receipt, both saved to disk
    ref = _newest_ref(site)
    receipt_url = f"{site['base']}/c/{SLUG}/receipt/{ref}.json"
    for _ in range(600):  # the server's sequencer publishes it within seconds
        with urllib.request.urlopen(receipt_url) as r:
            if r.status == 200:
                (tmp_path / "receipt.json").write_bytes(r.read())
                break
        time.sleep(0.1)
    else:
        pytest.fail(f"no receipt for {ref} within a minute")
    url = f"{site['base']}/vi/verifier/download?campaign={SLUG}"
    with urllib.request.urlopen(url) as r:
        (tmp_path / "verifier.html").write_bytes(r.read())
    # When it is opened from the file, with the network off, and given the receipt file
    context = browser.new_context(offline=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto((tmp_path / "verifier.html").as_uri())
    page.set_input_files("#receipt-file", str(tmp_path / "receipt.json"))
    # Then it verifies the receipt with the key it carries, fetching nothing
    verdict = page.locator("#verdict[data-verified]")
    verdict.wait_for(timeout=15_000)
    assert verdict.get_attribute("data-verified") == "true", verdict.inner_text()
    assert [u for u in requests if not u.startswith("file:")] == []
    _shots_phone(page, "verifier-offline-vi")
    # And an altered receipt is refused
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    entry = json.loads(receipt["entry"])
    entry["amount"] += 1
    receipt["entry"] = json.dumps(entry, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    (tmp_path / "altered.json").write_text(json.dumps(receipt))
    page.set_input_files("#receipt-file", str(tmp_path / "altered.json"))
    page.wait_for_function("document.querySelector('#verdict').dataset.verified === 'false'")
    context.close()
