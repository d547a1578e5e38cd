"""Backup, restore and recovery from the command line, on SQLite and PostgreSQL: a database
restored behind its published log never forks it; `log recover` books what it is missing,
and the same statement imported again books nothing twice."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOLIDARITY = str(Path(sys.executable).with_name("solidarity"))
HEADER = (
    "NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM,,,,,\n"
    "SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT,,,,,\n"
    "Số tài khoản/Account number: 0011001932418,,,,,\n"
    "Loại tiền/Currency: VND,,,,,\n"
    ",,,,,\n"
    'STT/No.,"Ngày GD/TNX Date\nSố CT/Doc No",Số tiền ghi nợ/Debit,Số tiền ghi có/Credit,'
    "Số dư/Balance,Nội dung chi tiết/Transactions in Detail\n"
)


def statement(path: Path, first: int, count: int) -> tuple[Path, int]:
    """A Vietcombank-like statement of `count` gifts to CUBA; the file and their sum."""
    lines, balance, total = [HEADER], 0, 0
    for n in range(first, first + count):
        amount = 10_000 * (n % 7 + 1) + n
        balance += amount
        total += amount
        day = 10 + n // 40
        lines.append(
            f'{n},"{day:02d}/09/2024\n5213.{47000 + n}",,"{amount:,}","{balance:,}",'
            f"MBVCB.{6953830000 + n}.NGUYEN VAN AN chuyen tien ung ho CUBA lan {n}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    return path, total


class Installation:
    def __init__(self, home: Path, database_url: str | None) -> None:
        self.home = home
        self.env = {**os.environ, "SOLIDARITY_HOME": str(home / "home")}
        self.env.pop("DATABASE_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url

    def __call__(self, *args: str, code: int = 0) -> str:
        result = subprocess.run(
            [SOLIDARITY, *args], capture_output=True, text=True, env=self.env, timeout=300,
            check=False,
        )  # fmt: skip
        assert result.returncode == code, result.stdout + result.stderr
        return result.stdout + result.stderr

    def auditor(self, *args: str, code: int = 0) -> str:
        env = {k: v for k, v in self.env.items() if k not in ("DATABASE_URL",)}
        env["SOLIDARITY_HOME"] = str(self.home / "auditor-has-no-home")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        result = subprocess.run(
            [SOLIDARITY, *args], capture_output=True, text=True, env=env, timeout=300,
            check=False,
        )  # fmt: skip
        assert result.returncode == code, result.stdout + result.stderr
        return result.stdout + result.stderr

    @property
    def log(self) -> Path:
        """The published files as any mirror holds them (exported from the installation)."""
        out = self.home / "mirror"
        self("log", "export", "cuba", str(out))
        return out

    def published(self) -> list[dict]:
        """Every published entry, read from the bundles (what any mirror holds)."""
        log = self.log
        size = int((log / "checkpoint").read_text().split("\n")[1])
        out = []
        for t in range(-(-size // 256)):
            width = min(256, size - 256 * t)
            name = f"{t:03d}" + ("" if width == 256 else f".p/{width}")
            data = (log / "tile" / "entries" / name).read_bytes()
            pos = 0
            while pos < len(data):
                n = int.from_bytes(data[pos : pos + 2], "big")
                out.append(json.loads(data[pos + 2 : pos + 2 + n]))
                pos += 2 + n
        return out


@pytest.fixture
def site(tmp_path: Path) -> Installation:
    """An installation of its own: a SQLite file, or on PostgreSQL the test database."""
    from django.db import connection

    url = None
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        connection.close()
    site = Installation(tmp_path, url)
    site("init", "--no-static")
    site(
        "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
        "--goal", "1000000000", "--days", "60", "--opens", "2024-09-01T00:00+07:00",
        "--account", "970436:0011001932418",
    )  # fmt: skip
    site("campaign", "open", "cuba")
    return site


def test_a_restored_database_is_recovered_from_the_log_without_a_fork(site, tmp_path):
    s1, t1 = statement(tmp_path / "s1.csv", 1, 10)
    s2, t2 = statement(tmp_path / "s2.csv", 11, 20)
    s3, t3 = statement(tmp_path / "s3.csv", 31, 30)
    # Given 10 gifts published, then a backup
    site("import", str(s1))
    site("log", "sequence", "--once")
    out = site("backup", str(tmp_path / "backup"))
    assert "logs: cuba 11" in out
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["logs"]["cuba"]["size"] == 11
    assert "keys/cuba.key" in manifest["files"]
    # And 20 more gifts published after it, a donor keeping the receipt of one of them
    site("import", str(s2))
    site("log", "sequence", "--once")
    before = site.published()
    old_ref = before[15]["ref"]
    old_receipt = tmp_path / "old-receipt.json"
    site("log", "receipt", "cuba", old_ref, "--out", str(old_receipt))
    old_checkpoint = (site.log / "checkpoint").read_bytes()
    vkey = site("log", "vkey", "cuba").strip()

    # When the backup is restored over the live database
    refused = site("restore", str(tmp_path / "backup"), code=2)
    assert "not empty" in refused
    out = site("restore", "--force", str(tmp_path / "backup"), code=1)
    # Then the restore says which published entries the database is missing
    assert "missing from the database: indexes 11-30" in out
    assert "kept the live checkpoint of size 31" in out
    # And 30 new gifts booked meanwhile take indexes after the published log
    site("import", str(s3))
    # The sequencer refuses to publish, naming the indexes, and so does `log status`
    out = site("log", "sequence", "--once", code=1)
    assert "indexes 11-30" in out and "log recover cuba" in out
    assert (site.log / "checkpoint").read_bytes() == old_checkpoint
    assert "indexes 11-30" in site("log", "status", code=1)

    # When the log is recovered and published
    out = site("log", "recover", "cuba")
    assert "recovered 20 entries of 31 (20 gifts, 0 reversals" in out
    assert f"{t2:+,} raised" in out
    site("log", "sequence", "--once")
    site("log", "status")
    # And the statement of the recovered gifts arrives again
    again = json.loads(site("import", str(s2), "--json"))["files"][0]
    assert (again["booked"], again["duplicates"]) == (0, 20)
    site("log", "sequence", "--once")

    # Then the published log grew from the old one, each gift once, totals exact
    after = site.published()
    assert after[:31] == before
    assert len(after) == 61
    refs = [e["ref"] for e in after if e["kind"] == "donation"]
    assert len(refs) == len(set(refs)) == 60
    totals = json.loads(site("campaign", "totals", "cuba", "--json"))
    assert totals["raised_minor"] == t1 + t2 + t3
    assert totals["donation_count"] == 60
    assert "ledger check: clean" in site("ledger", "check")
    (tmp_path / "old-checkpoint").write_bytes(old_checkpoint)
    report = json.loads(
        site.auditor(
            "verify", str(site.log), "--vkey", vkey, "--since", str(tmp_path / "old-checkpoint"),
            "--json",
        )
    )  # fmt: skip
    assert report["size"] == 61
    assert report["since_size"] == 31
    assert report["totals"]["VND"]["raised"] == t1 + t2 + t3
    # Receipts of a recovered gift and of a new one verify against the published checkpoint
    new_ref = after[45]["ref"]
    for ref, index in ((old_ref, 15), (new_ref, 45)):
        path = tmp_path / f"{ref}.json"
        site("log", "receipt", "cuba", ref, "--out", str(path))
        receipt = json.loads(path.read_text())
        assert receipt["checkpoint"] == (site.log / "checkpoint").read_text()
        out = site.auditor("verify-receipt", str(path), "--vkey", vkey)
        assert f"verified: entry {index} (donation {ref}" in out
    assert "verified: entry 15" in site.auditor("verify-receipt", str(old_receipt), "--vkey", vkey)
    cp_root = (site.log / "checkpoint").read_text().split("\n")[2]
    assert base64.b64decode(cp_root) and report["root"] == cp_root


def test_a_database_that_booked_over_the_published_log_is_refused(site, tmp_path):
    if "DATABASE_URL" in site.env:
        pytest.skip("a file copy is SQLite's; PostgreSQL rolls back through restore")
    s1, _ = statement(tmp_path / "s1.csv", 1, 5)
    s2, _ = statement(tmp_path / "s2.csv", 6, 5)
    s3, _ = statement(tmp_path / "s3.csv", 11, 8)
    site("import", str(s1))
    site("log", "sequence", "--once")
    site("backup", str(tmp_path / "backup"))
    site("import", str(s2))
    site("log", "sequence", "--once")
    published = (site.log / "checkpoint").read_bytes()
    # Given the database rolled back by other means than `restore` (its files copied back)
    # and then booking other gifts on top of it, the sequencer never having run in between
    db = Path(site.home / "home" / "solidarity.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    import shutil

    shutil.copyfile(tmp_path / "backup" / "database.sqlite3", db)
    site("import", str(s3))
    # When the sequencer runs, it refuses, naming the indexes that differ
    out = site("log", "sequence", "--once", code=1)
    assert "5 published entries differ from the database's at indexes 6-10" in out
    assert (site.log / "checkpoint").read_bytes() == published
    # And recovery refuses too: those entries cannot be recovered
    assert "indexes 6-10" in site("log", "recover", "cuba", code=2)
