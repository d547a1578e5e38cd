"""`solidarity goods receive|list|import` and `solidarity report` with goods, end to end
(SQLite, own SOLIDARITY_HOME)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.factories import cli_runner


@pytest.fixture(scope="module")
def sol(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    run = cli_runner(home)
    run("init", "--no-static")
    run(
        "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Vì Cuba",
        "--goal", "65000000000", "--currency", "VND", "--days", "65",
        "--opens", "2025-08-25T08:00:00+07:00", "--account", "970422:4001:HOI CTD",
    )  # fmt: skip
    run("campaign", "open", "cuba")
    run("user", "add", "thu", "--role", "accountant", stdin="a-long-passphrase-2025\n")
    run("user", "add", "lan", "--role", "approver", stdin="a-long-passphrase-2025\n")
    return run


def test_receive_list_import_and_report(sol, tmp_path):
    note = tmp_path / "phieu.pdf"
    note.write_bytes(b"%PDF-1.4 phieu nhap kho")
    # Given goods received from an organization, by the command line
    out = sol(
        "goods", "receive", "cuba", "--by", "thu", "--donor", "Công ty Dược ABC",
        "--item", "thuốc hạ sốt:10000:hộp:150000", "--date", "2025-09-10",
        "--evidence", str(note), "--json",
    ).stdout  # fmt: skip
    gift = json.loads(out)
    assert gift["donor"] == "Công ty Dược ABC"
    assert gift["total_minor"] == 1_500_000_000
    assert gift["items"][0]["quantity"] == "10000"
    assert gift["evidence"][0]["name"] == "phieu.pdf"
    # a person who wants no name published
    anonymous = json.loads(
        sol(
            "goods",
            "receive",
            "cuba",
            "--by",
            "thu",
            "--donor",
            "Trần Thị Bình",
            "--person",
            "--privacy",
            "anonymous",
            "--item",
            "gạo:2.5:tấn:15000000",
            "--date",
            "2025-09-11",
            "--json",
        ).stdout
    )
    assert anonymous["donor"] == "anonymous"
    # an approver may not record goods; a bad item is refused with its reason
    assert (
        "may not record"
        in sol(
            "goods", "receive", "cuba", "--by", "lan", "--donor", "X", "--item", "a:1:kg:1", code=2
        ).stderr
    )
    assert (
        "quantity"
        in sol(
            "goods", "receive", "cuba", "--by", "thu", "--donor", "X", "--item", "a:0:kg:1", code=2
        ).stderr
    )
    # When a CSV file with a bad row is imported: every error, nothing recorded
    bad = tmp_path / "hang.csv"
    bad.write_text(
        "date,donor,donor_kind,item,quantity,unit,unit_value,evidence\n"
        "12/09/2025,Công ty Sữa,organization,sữa,1.200,thùng,300.000,phieu.pdf\n"
        "12/09/2025,,organization,bò,30,con,25.000.000,\n"
        "12/09/2025,Hội nông dân,organization,bò,ba,con,25.000.000,\n",
        encoding="utf-8",
    )
    refused = sol("goods", "import", "cuba", str(bad), "--by", "thu", code=2).stderr
    assert "nothing was recorded" in refused
    assert "hang.csv:3: donor:" in refused
    assert "hang.csv:4: quantity:" in refused
    listed = json.loads(sol("goods", "list", "cuba", "--json").stdout)
    assert len(listed) == 2
    # Then the corrected file is recorded whole, its evidence read beside it
    bad.write_text(
        bad.read_text("utf-8")
        .replace(",,organization", ",Hợp tác xã,organization")
        .replace(",ba,", ",30,"),
        encoding="utf-8",
    )
    printed = sol("goods", "import", "cuba", str(bad), "--by", "thu").stdout
    assert "recorded 3 gifts of goods" in printed
    listed = json.loads(sol("goods", "list", "cuba", "--json").stdout)
    assert len(listed) == 5
    assert {g["items"][0]["quantity"] for g in listed} >= {"1200", "2.5", "10000"}
    assert "Công ty Dược ABC" in sol("goods", "list").stdout
    # And the statement lists the goods and reconciles
    path = tmp_path / "r.csv"
    printed = sol(
        "report", "cuba", "--from", "2025-08-25", "--to", "2025-10-31", "--format", "csv",
        "--out", str(path), "--lang", "en", "--prepared-by", "Thu", "--approved-by", "Lan",
    ).stdout  # fmt: skip
    assert "goods received 3,397,500,000" in printed
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    received = next(r for r in rows if r[0] == "Goods received in kind" and not r[1])
    # medicine, rice, milk and two herds of cattle
    assert int(received[4]) == 1_500_000_000 + 37_500_000 + 360_000_000 + 2 * 750_000_000
    assert rows[-2][:3] == ["Prepared by", "", "Thu"]
    totals = json.loads(sol("campaign", "totals", "cuba", "--json").stdout)
    assert totals["raised_minor"] == 0  # goods never count as money raised


def test_goods_handed_over_on_the_day_given(sol, tmp_path):
    sol("user", "add", "minh", "--role", "approver", stdin="a-long-passphrase-2025\n")
    tranche = json.loads(
        sol(
            "tranche", "propose", "cuba", "--by", "thu", "--amount", "0", "--currency", "VND",
            "--to", "Bộ Nông nghiệp Cuba", "--date", "2025-10-01",
            "--item", "bò giống:30:con:25000000", "--json",
        ).stdout
    )  # fmt: skip
    tid = str(tranche["id"])
    sol("tranche", "approve", tid, "--by", "lan")
    sol("tranche", "approve", tid, "--by", "minh")
    assert (
        "in the future"
        in sol("tranche", "handover", tid, "--by", "thu", "--date", "2999-01-01", code=2).stderr
    )
    done = json.loads(
        sol("tranche", "handover", tid, "--by", "thu", "--date", "2025-10-20", "--json").stdout
    )
    assert (done["status"], done["date"]) == ("handed_over", "2025-10-20")
    path = tmp_path / "r.csv"
    sol(
        "report", "cuba", "--from", "2025-10-20", "--to", "2025-10-20", "--format", "csv",
        "--out", str(path), "--lang", "en",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    (line,) = [r for r in rows if r[0] == "Goods handed over in kind" and r[1]]
    assert line[1:5] == ["2025-10-20", "Bộ Nông nghiệp Cuba — bò giống", "", "750000000"]
    assert line[7:9] == ["30", "con"]
