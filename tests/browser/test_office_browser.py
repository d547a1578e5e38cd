"""Each office role's main journey in Chromium, in Vietnamese and in Spanish.

A real server (`solidarity serve`) on a fresh installation set up by office_setup.py. People
log in through the real login page, admins and approvers with a TOTP code computed from
their device's key as an authenticator app does. The Spanish journeys choose the language
with the office's own switch. Screenshots land in tests/browser/artifacts/.

- accountant: imports a statement, books one transfer to a campaign and marks the other as
  not a gift, until the review queue is empty;
- approver: approves a tranche of USD 75,843.76 and sees that amount, not minor units;
- admin: creates a campaign (goal in major units), opens it, adds a witness (after a refused
  key) and a quorum, and closes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solidarity.core.tlog.cosignature import cosigner_key_generate
from tests.browser.test_public_browser import (  # the same server and browser set-up
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    _free_port,
)

pytestmark = pytest.mark.browser
SETUP = Path(__file__).with_name("office_setup.py")
LANGUAGES = ("vi", "es")


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    import os
    import urllib.request

    home = tmp_path_factory.mktemp("office")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(SOLIDARITY_HOME=str(home), SOLIDARITY_HTTPS="false", SOLIDARITY_TESTING="1")
    exe = str(Path(sys.executable).with_name("solidarity"))
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True, timeout=300)
    made = subprocess.run(
        [sys.executable, str(SETUP)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    data = json.loads(made.stdout.strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield {"base": base, "home": home, **data}
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


_last_step: dict[str, int] = {}


def totp(username: str, key_hex: str) -> str:
    """The code an authenticator app shows; never a step already used (django-otp refuses a
    code twice), so a second login within 30 s takes the next step's code."""
    from django_otp.oath import TOTP

    token = TOTP(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0)
    step = max(token.t(), _last_step.get(username, -1) + 1)
    _last_step[username] = step
    token.time = step * 30
    return f"{token.token():06d}"


def login(browser, office, username: str, language: str):
    """A fresh browser context, logged in; the office then switched to `language`."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(office["base"] + "/admin/login/")
    person = office["people"][username]
    page.fill("#id_username", username)
    page.fill("#id_password", person["password"])
    if "totp_key" in person:
        page.fill("#id_otp_token", totp(username, person["totp_key"]))
    page.click("input[type=submit]")
    page.wait_for_url("**/office/")
    assert page.locator("html").get_attribute("lang") == "vi"
    if language != "vi":
        page.select_option("#office-lang", language)
        page.click("form.langs button")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
    return context, page


def main_text(page) -> str:
    """The page's main text, no-break spaces (Babel puts them before ₫) as plain spaces."""
    return page.inner_text("main").replace("\xa0", " ").replace("\u202f", " ")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"office-{name}.png"), full_page=True)


TEXT = {
    "vi": {
        "empty": "Không có gì cần xem xét.",
        "approved": "đã phê duyệt",
        "closed": "đã kết thúc",
        "waiting": "đợt chờ phê duyệt",
    },
    "es": {
        "empty": "Nada que revisar.",
        "approved": "aprobado",
        "closed": "cerrada",
        "waiting": "tramo espera aprobación",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_accountant_imports_a_statement_and_clears_the_review_queue(
    office, browser, language, tmp_path
):
    context, page = login(browser, office, "thu", language)
    statement = tmp_path / f"sao-ke-{language}.csv"
    statement.write_text(
        "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
        f"10/09/2026,FT{language}1,,200.000,NGUYEN VAN AN chuyen tien\n"
        f"10/09/2026,FT{language}2,,150.000,chuyen khoan nham\n",
        encoding="utf-8",
    )
    page.goto(office["base"] + "/office/imports/")
    page.set_input_files("#file", str(statement))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_load_state()
    shot(page, f"accountant-{language}-1-imported")
    # the import worker beside the server parses and books the upload within seconds
    for _ in range(120):
        page.goto(office["base"] + "/office/review/")
        body = main_text(page)
        if "150.000 ₫" in body:
            break
        page.wait_for_timeout(500)
    assert "200.000 ₫" in body and "150.000 ₫" in body
    assert "200000 VND" not in body
    shot(page, f"accountant-{language}-2-queue")
    # Book the first transfer to a campaign (chosen by its name), refuse the second
    first = page.locator("tbody tr", has_text="200.000").first
    first.locator("select[name=campaign]").select_option("cuba")
    first.locator("form", has=page.locator("select")).locator("button").click()
    page.wait_for_load_state()
    second = page.locator("tbody tr", has_text="150.000").first
    second.locator("input[name=reason]").fill("chuyển nhầm")
    second.locator("form", has=page.locator("input[name=reason]")).locator("button").click()
    page.wait_for_load_state()
    assert TEXT[language]["empty"] in main_text(page)
    shot(page, f"accountant-{language}-3-cleared")
    context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_approver_approves_a_usd_tranche_and_sees_the_right_amount(office, browser, language):
    context, page = login(browser, office, "lan", language)
    assert TEXT[language]["waiting"] in main_text(page)
    shot(page, f"approver-{language}-1-home")
    tranche = office["tranches"][language]
    page.goto(f"{office['base']}/office/tranches/{tranche}/")
    body = main_text(page)
    assert "75.843,76 US$" in body and "7584376" not in body
    page.locator("form[action$='/approve/'] button").click()
    page.wait_for_load_state()
    body = main_text(page)
    assert TEXT[language]["approved"] in body.lower() and "75.843,76 US$" in body
    shot(page, f"approver-{language}-2-approved")
    context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_creates_and_closes_a_campaign(office, browser, language):
    context, page = login(browser, office, "quan", language)
    page.goto(office["base"] + "/office/campaigns/new/")
    slug = f"bao-lu-{language}"
    fields = {
        "slug": slug,
        "code": f"BAOLU{language.upper()}",
        "goal": "65.000.000.000",
        "min_gift": "10.000",
        "opens_at": "01/09/2026 08:00",
        "days": "30",
        "name_vi": "Cứu trợ bão lũ",
        "name_es": "Ayuda tras el tifón",
        "story_vi": "**Miền Trung** cần giúp đỡ.",
    }
    for name, value in fields.items():
        page.fill(f"[name={name}]", value)
    shot(page, f"admin-{language}-1-form")
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url(f"**/office/campaigns/{slug}/**")
    body = main_text(page)
    assert "65.000.000.000 ₫" in body and "01/09/2026 08:00" in body
    page.locator("form[action$='/open/'] button").click()
    page.wait_for_load_state()
    # The witnesses: a bad key is a form error; a good one is listed, then a quorum of 1
    page.locator(f"a[href$='/office/campaigns/{slug}/witnesses/']").click()
    page.wait_for_url(f"**/office/campaigns/{slug}/witnesses/")
    page.fill("[name=vkey]", "not-a-witness-key")
    page.fill("[name=url]", "https://witness.example.org/")
    page.locator("form[action$='/witnesses/add/'] button").click()
    page.wait_for_load_state()
    assert page.locator(".errorlist").count() > 0
    name = f"w-{language}.example.org"
    page.fill("[name=vkey]", cosigner_key_generate(name, language.encode() * 16)[1])
    page.locator("form[action$='/witnesses/add/'] button").click()
    page.wait_for_url("**/witnesses/?done=add")
    assert name in main_text(page)
    page.fill("[name=quorum]", "1")
    page.locator("form[action$='/witnesses/quorum/'] button").click()
    page.wait_for_url("**/witnesses/?done=quorum")
    assert page.inner_text("#witness-quorum").strip() == "1"
    shot(page, f"admin-{language}-2-witnesses")
    page.goto(f"{office['base']}/office/campaigns/{slug}/")
    page.locator("form[action$='/close/'] button").click()
    page.wait_for_load_state()
    assert TEXT[language]["closed"] in page.inner_text("h1").lower()
    shot(page, f"admin-{language}-3-closed")
    context.close()
