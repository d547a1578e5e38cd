"""`solidarity tranche ...` and `solidarity report ...` end to end (SQLite, own SOLIDARITY_HOME)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.factories import cli_runner


@pytest.fixture(scope="module")
def sol(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    run = cli_runner(home)
    run("init", "--no-static")
    run("demo", "--gifts", "2000")
    for name, role in (("thu", "accountant"), ("lan", "approver"), ("minh", "approver")):
        run("user", "add", name, "--role", role, stdin="a-long-passphrase-2025\n")
    return run


def test_propose_approve_hand_over_and_report(sol, tmp_path):
    minutes = tmp_path / "minutes.pdf"
    minutes.write_bytes(b"%PDF-1.4 handover minutes")
    before = json.loads(sol("campaign", "totals", "cuba-2025", "--json").stdout)
    # Given a proposal with a recorded rate and goods (beside the demo's own tranches)
    out = sol(
        "tranche",
        "propose",
        "cuba-2025",
        "--by",
        "thu",
        "--amount",
        "50000000",
        "--currency",
        "VND",
        "--to",
        "Hội Chữ thập đỏ Cuba",
        "--purpose",
        "rice",
        "--date",
        "2025-09-01",
        "--rate",
        "26370",
        "--rate-currency",
        "USD",
        "--rate-source",
        "Vietcombank",
        "--item",
        "masks:50000:piece:1000",
        "--json",
    ).stdout
    tranche = json.loads(out)
    tid = str(tranche["id"])
    assert tranche["status"] == "proposed"
    assert tranche["conversion"]["amount_minor"] == 189_609  # USD 1,896.09, truncated
    assert tranche["items"][0]["total_minor"] == 50_000_000
    # When the proposer tries to approve, or an approver twice: refused with a message
    assert (
        "does not have the approver role"
        in sol("tranche", "approve", tid, "--by", "thu", code=2).stderr
    )
    sol("tranche", "approve", tid, "--by", "lan")
    assert "already approved" in sol("tranche", "approve", tid, "--by", "lan", code=2).stderr
    assert (
        "only an approved tranche" in sol("tranche", "handover", tid, "--by", "thu", code=2).stderr
    )
    sol("tranche", "approve", tid, "--by", "minh")
    done = json.loads(
        sol("tranche", "handover", tid, "--by", "thu", "--evidence", str(minutes), "--json").stdout
    )
    # Then it is booked, logged, listed and the ledger checks clean
    assert done["status"] == "handed_over"
    assert done["log"]["kind"] == "disbursement"
    assert done["log"]["index"] is None or isinstance(done["log"]["index"], int)
    listed = json.loads(sol("tranche", "list", "cuba-2025", "--json").stdout)
    assert listed[0]["id"] == tranche["id"]  # newest first
    totals = json.loads(sol("campaign", "totals", "cuba-2025", "--json").stdout)
    assert totals["disbursed_minor"] == before["disbursed_minor"] + 50_000_000
    assert "clean" in sol("ledger", "check").stdout
    # an amount above the balance is refused at approval
    big = json.loads(
        sol(
            "tranche",
            "propose",
            "cuba-2025",
            "--by",
            "thu",
            "--amount",
            "900000000000",
            "--currency",
            "VND",
            "--to",
            "X",
            "--json",
        ).stdout
    )
    assert (
        "above what the campaign can still hand over"
        in sol("tranche", "approve", str(big["id"]), "--by", "lan", code=2).stderr
    )
    assert "cancelled" in sol("tranche", "cancel", str(big["id"]), "--by", "thu").stdout
    # And the statement reconciles with the books in every format
    for fmt in ("pdf", "csv", "xlsx"):
        path = tmp_path / f"r.{fmt}"
        printed = sol(
            "report",
            "cuba-2025",
            "--from",
            "2025-08-01",
            "--to",
            "2030-01-01",
            "--format",
            fmt,
            "--out",
            str(path),
            "--lang",
            "en",
        ).stdout
        assert "DOES NOT RECONCILE" not in printed
        assert path.stat().st_size > 500
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig"))))
    closing = next(r for r in rows if r[0] == "Closing balance")
    assert int(closing[4]) == totals["balance_minor"]
    assert any(r[0] == "Tranche" and r[2].startswith("Hội Chữ thập đỏ Cuba") for r in rows)


def test_bad_tranche_requests_are_refused(sol):
    assert "no tranche 999" in sol("tranche", "show", "999", code=2).stderr
    assert (
        "more decimals than VND"
        in sol(
            "tranche",
            "propose",
            "cuba-2025",
            "--by",
            "thu",
            "--amount",
            "1.5",
            "--currency",
            "VND",
            "--to",
            "X",
            code=2,
        ).stderr
    )
    assert (
        "no such user"
        in sol(
            "tranche",
            "propose",
            "cuba-2025",
            "--by",
            "nobody",
            "--amount",
            "1",
            "--currency",
            "VND",
            "--to",
            "X",
            code=2,
        ).stderr
    )
    assert (
        "NAME:QTY:UNIT:VALUE"
        in sol(
            "tranche",
            "propose",
            "cuba-2025",
            "--by",
            "thu",
            "--amount",
            "1",
            "--currency",
            "VND",
            "--to",
            "X",
            "--item",
            "masks",
            code=2,
        ).stderr
    )


LOG_CLI = (
    "import sys, solidarity.cli as c\n"
    "m = 'solidarity.apps.transparency.cli'\n"
    "if m not in c.EXTENSION_MODULES: c.EXTENSION_MODULES.append(m)\n"
    "sys.exit(c.main(sys.argv[1:]))\n"
)


def test_verify_on_the_exported_log_reproduces_the_totals(sol, tmp_path):
    pytest.importorskip("solidarity.apps.transparency.sequencer")
    # Given a tranche handed over and a gift in kind
    tranche = json.loads(
        sol(
            "tranche",
            "propose",
            "cuba-2025",
            "--by",
            "thu",
            "--amount",
            "1000000",
            "--currency",
            "VND",
            "--to",
            "Cuban Red Cross",
            "--json",
        ).stdout
    )
    sol("tranche", "approve", str(tranche["id"]), "--by", "lan")
    sol("tranche", "approve", str(tranche["id"]), "--by", "minh")
    sol("tranche", "handover", str(tranche["id"]), "--by", "thu")
    # When the log is sequenced, exported and verified from its files alone
    env = {**os.environ, "SOLIDARITY_HOME": sol.home}
    env.pop("DATABASE_URL", None)

    def log(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", LOG_CLI, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    log("log", "sequence", "--once")
    out = tmp_path / "log"
    log("log", "export", "cuba-2025", str(out))
    report = json.loads(log("verify", str(out), "--vkey", str(out / "vkey"), "--json"))
    # Then the published totals are the books' totals
    totals = json.loads(sol("campaign", "totals", "cuba-2025", "--json").stdout)
    vnd = report["totals"]["VND"]
    assert report["ok"]
    assert vnd["raised"] == totals["raised_minor"]
    assert vnd["disbursed"] == totals["disbursed_minor"] > 0
    assert vnd["balance"] == totals["balance_minor"]
    assert report["kinds"]["disbursement"] >= 1
    shown = json.loads(sol("tranche", "show", str(tranche["id"]), "--json").stdout)
    assert isinstance(shown["log"]["index"], int)
