"""`solidarity import` and `solidarity review` end to end, in their own installation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.factories import cli_runner

VCB_CSV = REPO / "tests" / "core" / "statements" / "golden" / "vn" / "vietcombank_bilingual.csv"


@pytest.fixture
def sol(tmp_path: Path):
    run = cli_runner(tmp_path / "home")
    run("init", "--no-static")
    return run


def _campaign(sol, slug: str, code: str, *keywords: str) -> None:
    extra = [a for k in keywords for a in ("--keyword", k)]
    sol(
        "campaign", "create", "--slug", slug, "--code", code, "--name", slug,
        "--goal", "1000000000", "--days", "30", "--opens", "2024-09-01T00:00+07:00",
        "--account", "970436:0011001932418", *extra,
    )  # fmt: skip
    sol("campaign", "open", slug)


def test_import_review_and_refusal_from_the_command_line(sol, tmp_path: Path):
    # Given two campaigns sharing the account of the Vietcombank export
    _campaign(sol, "flood", "LULUT", "lu lut", "bao yagi")
    _campaign(sol, "cuba", "CUBA")
    sol("user", "add", "ke-toan", "--role", "accountant", stdin="a-long-passphrase-1\n")
    # When it is imported
    report = json.loads(sol("import", str(VCB_CSV), "--json").stdout)["files"][0]
    # Then memo keywords book three gifts to `flood`, the rest wait for review
    assert report["status"] == "done"
    assert (report["rows_read"], report["booked"], report["to_review"]) == (8, 3, 3)
    assert (report["not_gifts"], report["reversals_pending"]) == (1, 1)
    items = json.loads(sol("review", "list", "--json").stdout)
    assert len(items) == 3
    assert all(set(i["candidates"]) == {"cuba", "flood"} for i in items)
    totals = json.loads(sol("campaign", "totals", "cuba", "--json").stdout)
    assert totals["review_count"] == 3
    # When an accountant assigns one and rejects another
    first, second = items[0]["id"], items[1]["id"]
    out = sol("review", "assign", str(first), "--campaign", "cuba", "--by", "ke-toan").stdout
    assert "booked to cuba" in out
    sol("review", "reject", str(second), "--by", "ke-toan", "--reason", "internal transfer")
    sol("review", "reject", str(second), "--by", "ke-toan", "--reason", "again", code=2)
    sol("review", "assign", str(first), "--campaign", "cuba", "--by", "nobody", code=2)
    decided = {
        i["id"]: i for i in json.loads(sol("review", "list", "--status", "all", "--json").stdout)
    }
    assert decided[first]["status"] == "assigned"
    assert decided[first]["decided_by"] == "ke-toan"
    assert decided[second]["status"] == "rejected"
    totals = json.loads(sol("campaign", "totals", "cuba", "--json").stdout)
    assert (totals["donation_count"], totals["review_count"]) == (1, 1)
    # The returned transfer whose gift is not in these books is booked as money out, once
    (waiting,) = json.loads(sol("review", "returns", "--json").stdout)
    assert waiting["reverses_ref"] == "FT24256341600001"
    ret = str(waiting["id"])
    out = sol("review", "post-return", ret, "--by", "ke-toan", "--reason", "before our books")
    assert "booked as money out" in out.stdout
    sol("review", "post-return", ret, "--by", "ke-toan", "--reason", "again", code=2)
    assert "no returned transfers" in sol("review", "returns").stdout
    (settled,) = json.loads(sol("review", "returns", "--status", "all", "--json").stdout)
    assert (settled["status"], settled["decided_by"]) == ("posted", "ke-toan")
    sol("ledger", "check")
    # A re-import finds everything done; a broken file is refused with exit code 2
    again = json.loads(sol("import", str(VCB_CSV), "--json").stdout)["files"][0]
    assert again["duplicates"] == 8
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?><Document><BkToCstmrStmt>')
    refused = sol("import", str(broken), str(VCB_CSV), code=2)
    assert "refused" in refused.stdout
    assert "REJECTED broken.xml:" in refused.stdout
    assert "duplicates skipped" in refused.stdout
    dry = sol("import", str(VCB_CSV), "--dry-run").stdout
    assert "dry run" in dry
