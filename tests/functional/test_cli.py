"""The `solidarity` command end to end, in its own installation directory (SQLite)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.factories import cli_runner


@pytest.fixture
def sol(tmp_path: Path):
    run = cli_runner(tmp_path / "home")
    run("init", "--no-static")
    return run


def test_campaign_create_open_and_totals(sol, tmp_path):
    sol(
        "campaign",
        "create",
        "--slug",
        "flood-2024",
        "--code",
        "LULUT",
        "--name",
        "Ủng hộ lũ lụt",
        "--goal",
        "1000000000",
        "--currency",
        "VND",
        "--days",
        "10",
        "--opens",
        "2024-09-10T08:00+07:00",
        "--account",
        "970436:0011001932418:MTTQ",
        "--keyword",
        "lu lut",
        "--keyword",
        "bao yagi",
    )
    sol("campaign", "open", "flood-2024")
    listed = json.loads(sol("campaign", "list", "--json").stdout)
    assert listed[0]["slug"] == "flood-2024"
    assert listed[0]["status"] == "open"
    totals = json.loads(sol("campaign", "totals", "flood-2024", "--json").stdout)
    for key in (
        "currency",
        "goal_minor",
        "raised_minor",
        "donation_count",
        "reversal_count",
        "review_count",
        "disbursed_minor",
        "balance_minor",
        "goal_reached_at",
    ):
        assert key in totals
    assert totals["goal_minor"] == 1_000_000_000
    # the state directory keeps its secrets private
    secret = tmp_path / "home" / "secrets" / "django_secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_bad_requests_are_refused_with_a_clear_message(sol):
    result = sol(
        "campaign",
        "create",
        "--slug",
        "x",
        "--code",
        "X1",
        "--name",
        "n",
        "--goal",
        "12.5",
        "--currency",
        "VND",
        "--days",
        "3",
        code=2,
    )
    assert "more decimals than VND allows" in result.stderr
    result = sol(
        "campaign",
        "create",
        "--slug",
        "x",
        "--code",
        "X1",
        "--name",
        "n",
        "--goal",
        "100",
        "--days",
        "3",
        "--account",
        "999999:12",
        code=2,
    )
    assert "unknown bank BIN 999999" in result.stderr
    assert "no campaign" in sol("campaign", "totals", "nope", code=2).stderr


def test_demo_books_gifts_and_the_ledger_checks_clean(sol):
    sol("demo", "--gifts", "3000")
    totals = json.loads(sol("campaign", "totals", "cuba-2025", "--json").stdout)
    assert totals["donation_count"] == 3000
    assert totals["raised_minor"] > 3000 * 10_000
    assert totals["currency"] == "VND"
    sol("demo", "--gifts", "3000")  # again: nothing is booked twice
    again = json.loads(sol("campaign", "totals", "cuba-2025", "--json").stdout)
    assert again["donation_count"] == 3000
    assert "clean" in sol("ledger", "check").stdout
    # and every page has something to show: goods received, a tranche in money (with its
    # USD conversion) and one in kind, both handed over, booked once however often it runs
    tranches = json.loads(sol("tranche", "list", "--json").stdout)
    assert sorted(t["status"] for t in tranches) == ["handed_over", "handed_over"]
    (cash,) = [t for t in tranches if t["amount_minor"] > 0]
    (goods,) = [t for t in tranches if t["amount_minor"] == 0]
    assert cash["conversion"]["currency"] == "USD" and cash["evidence"]
    assert goods["items"]
    assert again["disbursed_minor"] == cash["amount_minor"] < again["raised_minor"]
    assert len(json.loads(sol("goods", "list", "--json").stdout)) == 1


def test_user_add_with_a_generated_password(sol):
    out = sol("user", "add", "thu", "--role", "accountant").stdout
    assert "password (shown once):" in out
    out = sol("user", "add", "lan", "--role", "approver", stdin="a-long-passphrase-2025\n").stdout
    assert "password (shown once)" not in out
    assert "otpauth://totp/Solidarity:lan?secret=" in out.replace("%3A", ":")
    assert (
        "otpauth://"
        not in sol("user", "add", "an", "--role", "auditor", stdin="y" * 20 + "\n").stdout
    )
    assert (
        "taken"
        in sol("user", "add", "lan", "--role", "auditor", stdin="x" * 20 + "\n", code=2).stderr
    )
