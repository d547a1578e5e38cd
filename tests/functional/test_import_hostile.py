"""Hostile and odd statement files through every door: `solidarity import` (and its dry
run), the back-office upload (and its dry run) run by the import worker. Each is refused
with its file, line and field; nothing is booked; no import is left running."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.test import Client
from django.utils.html import escape

from solidarity.apps.accounts.services import user_add
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.imports.jobs import import_jobs_requeue_stale, import_jobs_run
from solidarity.apps.imports.models import Import, ImportUpload
from solidarity.apps.ledger.models import Posting
from tests.factories import OPENS, campaign_factory, cli_runner, office_login

HEADER = "Số tài khoản: 0011001932418\nNgày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Nội dung\n"
CAMT = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Acct><Id><Othr><Id>0011001932418</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
<BookgDt><Dt>2025-09-10</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def _csv(*rows: str) -> bytes:
    good = "10/09/2025,FT0,,200000,ung ho CUBA\n"
    return (HEADER + good + "".join(rows)).encode()


def _xlsx_bomb() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Số tài khoản: 0011001932418"])
    out = io.BytesIO()
    book.save(out)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/media/zeros.bin", bytes(20 * 2**20), zipfile.ZIP_DEFLATED, 9)
    return bomb.getvalue()


# name: (bytes, (line, field) of the first error, a fragment of its message)
HOSTILE: dict[str, tuple[bytes, tuple[int, str], str]] = {
    "thirty_digits.csv": (
        _csv("10/09/2025,FT1,,123456789012345678901234567890,ung ho\n"),
        (4, "credit"),
        "impossible amount",
    ),
    "past_int64.csv": (
        _csv("10/09/2025,FT1,,9223372036854775808,ung ho\n"),
        (4, "credit"),
        "largest storable",
    ),
    "carriage_return.csv": (
        _csv("10/09/2025,FT1,,100000,ung ho\rCUBA\n"),
        (4, "csv"),
        "malformed CSV",
    ),
    "year_9999.csv": (_csv("31/12/9999,FT1,,100000,ung ho\n"), (4, "date"), "after"),
    "before_opening.csv": (_csv("10/09/2020,FT1,,100000,ung ho\n"), (4, "date"), "before"),
    # a date any clock reads as the future, yet one a bank file could write
    "future.csv": (_csv("01/01/2199,FT1,,100000,ung ho\n"), (4, "date"), "after"),
    "control_character.csv": (
        _csv("10/09/2025,FT1,,100000,ung ho\x1b[2J\n"),
        (4, "memo"),
        "control character",
    ),
    "latin1.csv": (_csv() + b"10/09/2025,FT1,,100000,caf\xe9\n", (4, "encoding"), "UTF-8"),
    "huge_exponent.xml": (CAMT.format(amount="1E+999999999").encode(), (4, "Amt"), "digits"),
    "bomb.xlsx": (_xlsx_bomb(), (1, "xlsx"), "decompression bomb"),
}


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    paths = []
    for name, (data, _, _) in HOSTILE.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _check_refusal(name: str, errors: list[dict]) -> None:
    _, (line, field), fragment = HOSTILE[name]
    first = errors[0]
    assert first["file"] == name
    assert (first["line"], first["field"]) == (line, field), first
    assert fragment in first["message"], first


def test_the_command_line_refuses_each_file_and_its_dry_run_too(tmp_path: Path, files):
    sol = cli_runner(tmp_path / "home")
    sol("init", "--no-static")
    sol(
        "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
        "--goal", "1000000000", "--days", "65", "--opens", "2025-08-25T08:00+07:00",
        "--account", "970436:0011001932418",
    )  # fmt: skip
    sol("campaign", "open", "cuba")
    for extra in (["--dry-run"], []):
        # When every hostile file is imported (a dry run first)
        out = sol("import", *map(str, files), "--json", *extra, code=2)
        reports = json.loads(out.stdout)["files"]
        # Then each is refused at its line and field, and no traceback is printed
        assert "Traceback" not in out.stderr
        for report in reports:
            assert report["status"] == "refused", report
            assert report["booked"] == 0
            _check_refusal(report["file"], report["errors"])
    totals = json.loads(sol("campaign", "totals", "cuba", "--json").stdout)
    assert totals["donation_count"] == 0
    # The human-readable report names file, line and field too
    text = sol("import", str(files[0]), code=2).stdout
    assert "REJECTED thirty_digits.csv:4: credit: impossible amount" in text


@pytest.fixture
def accountant_client(db):
    campaign_factory(
        goal=10**12, opens_at=OPENS, accounts=(AccountInput("970436", "0011001932418"),)
    )
    user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")
    client = Client(raise_request_exception=False)
    office_login(client, "ke-toan", "a-long-passphrase-1")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_the_upload_page_refuses_each_file(accountant_client, files, dry_run):
    # Given every hostile file uploaded (queued; the web worker parses nothing)
    for path in files:
        with open(path, "rb") as f:
            data = {"file": f, **({"dry_run": "1"} if dry_run else {})}
            assert accountant_client.post("/office/imports/", data).status_code == 303
    assert set(Import.objects.values_list("status", flat=True)) == {"queued"}
    # When the import worker runs them
    reports = import_jobs_run()
    # Then each is refused at its line and field, shown so on its page, nothing booked
    assert len(reports) == len(files)
    for job in Import.objects.all():
        assert (job.status, job.dry_run, job.booked) == ("refused", dry_run, 0)
        _check_refusal(job.file_name, job.errors)
        page = accountant_client.get(f"/office/imports/?job={job.pk}")
        assert page.status_code == 200
        assert escape(job.errors[0]["message"][:40]) in page.content.decode()
    assert not Donation.objects.exists() and not Posting.objects.exists()
    assert not ImportUpload.objects.exists()


@pytest.mark.django_db
def test_a_job_that_breaks_off_ends_failed_with_its_reason(accountant_client, files):
    with open(files[0], "rb") as f:
        accountant_client.post("/office/imports/", {"file": f})
    job = Import.objects.get()
    ImportUpload.objects.filter(imported=job).delete()  # the stored bytes are gone
    (report,) = import_jobs_run()
    job.refresh_from_db()
    assert (report.status, job.status) == ("failed", "failed")
    assert "the uploaded file is gone" in job.errors[0]["message"]


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_queued_again_and_booked_once(accountant_client, tmp_path):
    # Given a job a worker claimed and then died on (no heartbeat since)
    good = tmp_path / "good.csv"
    good.write_bytes(_csv())
    with open(good, "rb") as f:
        accountant_client.post("/office/imports/", {"file": f})
    Import.objects.update(status="running", heartbeat_at=None)
    assert import_jobs_requeue_stale(stale_seconds=3600) == 0  # too recent to judge
    assert import_jobs_run() == []
    # When it is stale
    assert import_jobs_requeue_stale(stale_seconds=0) == 1
    (report,) = import_jobs_run()
    # Then it is run again and booked exactly once
    assert report.status == "done" and report.counts.booked == 1
    assert Donation.objects.count() == 1
