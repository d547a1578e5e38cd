"""Receiving accounts named by BIN, bank code or SWIFT/BIC, at banks with and without a NAPAS
BIN: campaign create and import from the command line, the give page for an account that can
have no VietQR code, and a provincial Front's donor list imported into such an account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from solidarity.apps.campaigns.services import AccountInput
from tests.core.statements.front_files import FRONT_ACCOUNT, front_csv, front_xlsx
from tests.factories import campaign_factory, cli_runner

VBSP = f"VBSP:{FRONT_ACCOUNT}"


@pytest.fixture
def sol(tmp_path: Path):
    run = cli_runner(tmp_path / "home")
    run("init", "--no-static")
    return run


def _create(sol, *accounts: str, code: int = 0):
    args = [a for account in accounts for a in ("--account", account)]
    return sol(
        "campaign", "create", "--slug", "yagi", "--code", "FRONTYB", "--name", "Bão Yagi",
        "--goal", "1000000000", "--days", "30", "--opens", "2024-09-01T00:00+07:00", *args,
        code=code,
    )  # fmt: skip


def test_every_form_of_account_from_the_command_line(sol, tmp_path: Path):
    # Given a campaign whose accounts are named by BIN, by code, by SWIFT, and at the
    # Vietnam Bank for Social Policies, which has no NAPAS BIN
    _create(
        sol,
        "970436:0011001932418:UBMTTQ VN",
        "BIDV:12010000999",
        "ICBVVNVX:113000123456",
        f"{VBSP}:UBMTTQ TINH YEN BAI",
    )
    sol("campaign", "open", "yagi")
    shown = json.loads(sol("campaign", "show", "yagi").stdout)
    assert [(a["bin"], a["number"]) for a in shown["accounts"]] == [
        ("970436", "0011001932418"),
        ("970418", "12010000999"),
        ("970415", "113000123456"),
        ("VBSP", FRONT_ACCOUNT),
    ]
    # When the Front's donor list is imported into the VBSP account, named by its code
    xlsx = front_xlsx(tmp_path / "front.xlsx")
    report = json.loads(sol("import", str(xlsx), "--account", VBSP, "--json").stdout)
    (file_report,) = report["files"]
    # Then the seven gifts are booked, the total row checked and not booked, and the swapped
    # date cell reported as a warning at its cell
    assert file_report["status"] == "done"
    assert (file_report["rows_read"], file_report["booked"]) == (7, 7)
    assert file_report["errors"] == []
    (warning,) = file_report["warnings"]
    assert (warning["file"], warning["line"], warning["field"]) == ("front.xlsx", 9, "date")
    assert "cell B9" in warning["message"]
    totals = json.loads(sol("campaign", "totals", "yagi", "--json").stdout)
    assert totals["raised_minor"] == 15_350_000
    sol("ledger", "check")
    # The text report names the warning too; a second run books nothing again
    text = sol("import", str(xlsx), "--account", VBSP).stdout
    assert "WARNING front.xlsx:9: date: cell B9" in text
    # A CSV export of the same list whose total is wrong is refused at the total's line
    wrong = front_csv(tmp_path / "wrong.csv", total="15.000.000")
    refused = json.loads(
        sol("import", str(wrong), "--account", "VBSP:" + FRONT_ACCOUNT, "--json", code=2).stdout
    )["files"][0]
    assert refused["status"] == "refused"
    assert [(e["line"], e["field"]) for e in refused["errors"]] == [(13 + 1, "amount")]
    assert "15,350,000" in refused["errors"][0]["message"]


def test_unknown_banks_are_refused_naming_the_part(sol, tmp_path: Path):
    for account, fragment in [
        ("XYZ:123", "unknown bank 'XYZ'"),
        ("999999:123", "unknown BIN 999999"),
        ("ABCDVNVX:123", "unknown SWIFT/BIC ABCDVNVX"),
        ("VBSP:12A", "digits only"),
    ]:
        result = _create(sol, account, code=2)
        assert fragment in result.stderr
    csv = front_csv(tmp_path / "front.csv")
    result = sol("import", str(csv), "--account", "NOPE:1", code=2)
    assert "--account" in result.stderr
    assert "unknown bank 'NOPE'" in result.stderr


@pytest.mark.django_db
def test_the_give_page_offers_no_qr_for_an_account_without_a_bin():
    campaign_factory(
        accounts=(
            AccountInput("VBSP", FRONT_ACCOUNT, "UBMTTQ TINH YEN BAI"),
            AccountInput("970422", "4001", "HOI CTD"),
        )
    )
    client = Client()
    html = client.get("/en/c/cuba/give/").content.decode()
    # The account with a code comes first and has its QR; the VBSP account is listed with
    # its number and a note, and no QR image
    assert html.index("account=970422:4001") < html.index(FRONT_ACCOUNT)
    assert "/c/cuba/give/qr.svg?account=970422:4001" in html
    assert f"qr.svg?account=VBSP:{FRONT_ACCOUNT}" not in html
    assert f"qr.png?account=VBSP:{FRONT_ACCOUNT}" not in html
    assert "VBSP has no VietQR code" in html
    assert "or scan the code of another account" in html
    # Asked for anyway, the QR is refused with a reason, never a 500
    response = client.get(
        f"/c/cuba/give/qr.svg?account=VBSP:{FRONT_ACCOUNT}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "no VietQR code" in response.content.decode()
