"""A gift's log entry names its gift (`LogEntry.gift`) instead of being found through an index
on every entry's reference: receipts, short links and `ledger check` find it by the gift, the
other kinds by the partial index on ref, and an installation booked before is migrated in
place. SQLite and PostgreSQL; the migration round trip on SQLite, in a scratch home."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import donation_reverse, donations_record_many
from solidarity.apps.transparency.models import LogEntry
from solidarity.apps.transparency.selectors import LogNotFound, receipt_get, receipt_slug
from tests.factories import OPENS, campaign_factory, gift

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _book(slug: str = "cuba", n: int = 3) -> list[Donation]:
    campaign = campaign_factory(slug=slug, code=slug.upper())
    gifts = [gift(campaign, 10_000 + i, received_at=OPENS + timedelta(minutes=i)) for i in range(n)]
    donations_record_many(campaign=campaign, gifts=gifts, deposit=True)
    return list(Donation.objects.filter(campaign=campaign).order_by("id"))


def test_every_gift_entry_names_its_gift():
    booked = _book()
    entries = LogEntry.objects.filter(kind="donation").order_by("index")
    assert [(e.gift, e.ref) for e in entries] == [(d.pk, d.public_ref) for d in booked]
    assert not LogEntry.objects.exclude(kind="donation").filter(gift__isnull=False).exists()
    assert ledger_check().ok, ledger_check().problems


def test_receipts_and_short_links_find_gifts_and_their_reversals():
    first, second, _ = _book()
    other = _book(slug="lao", n=1)[0]
    donation_reverse(
        donation=second, source="test", source_ref="r1", reversed_at=OPENS + timedelta(days=1)
    )
    found = receipt_get(slug="cuba", ref=first.public_ref)
    assert (found.kind, found.entry["ref"], found.reversal) == ("donation", first.public_ref, None)
    reversed_ = receipt_get(slug="cuba", ref=second.public_ref)
    assert reversed_.kind == "donation"
    assert reversed_.reversal is not None and reversed_.reversal["kind"] == "reversal"
    assert receipt_slug(ref=other.public_ref) == "lao"
    assert receipt_slug(ref=first.public_ref) == "cuba"
    assert receipt_slug(ref="NOSUCHREF000") is None
    with pytest.raises(LogNotFound):  # a gift of another campaign is not this one's
        receipt_get(slug="cuba", ref=other.public_ref)


def test_entries_of_other_kinds_are_found_by_their_ref():
    _book(n=1)
    (account,) = LogEntry.objects.filter(kind="account")
    assert receipt_get(slug="cuba", ref=account.ref).kind == "account"
    assert receipt_slug(ref=account.ref) == "cuba"


def test_ledger_check_finds_a_gift_whose_entry_does_not_name_it():
    _, second, _ = _book()
    with transaction.atomic(), connection.cursor() as cur:
        # As someone with write access to the database could (rolled back with the test).
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER transparency_logentry_no_update")
        else:
            cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("UPDATE transparency_logentry SET gift = NULL WHERE gift = %s", [second.pk])
    report = ledger_check()
    assert "1 booked gifts have no log entry" in report.problems


def test_lookups_use_the_indexes_not_a_walk_of_the_log():
    from django.test.utils import CaptureQueriesContext

    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.public.selectors import campaign_accounts

    (d,) = _book(n=1)
    (account,) = LogEntry.objects.filter(kind="account")
    # The queries receipts, short links and the campaign page run on the log
    with CaptureQueriesContext(connection) as captured:
        receipt_get(slug="cuba", ref=d.public_ref)
        receipt_get(slug="cuba", ref=account.ref)
        receipt_slug(ref=d.public_ref)
        campaign_accounts(campaign=Campaign.objects.get(slug="cuba"))
    reads = [q["sql"] for q in captured if 'FROM "transparency_logentry"' in q["sql"]]
    assert len(reads) >= 6
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":  # a table this small is read whole otherwise
            cur.execute("SET LOCAL enable_seqscan = off")
        for sql in reads:
            if connection.vendor == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(str(row[-1]) for row in cur.fetchall())
            else:
                cur.execute("EXPLAIN " + sql)
                plan = " ".join(str(row[0]) for row in cur.fetchall())
            # Then each reads one of the indexes made for it, none the campaign's whole log
            assert any(i in plan for i in ("log_gift", "log_ref_not_gift", "log_kind_not_gift")), (
                sql,
                plan,
            )


def _sol(home: Path, *args: str) -> str:
    env = {**os.environ, "SOLIDARITY_HOME": str(home)}
    for name in ("DATABASE_URL", "SOLIDARITY_TESTING"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_an_installation_booked_before_is_migrated_in_place(tmp_path: Path):
    # Given an installation with gifts booked before gift entries named their gift
    home = tmp_path / "home"
    cli = ("-m", "solidarity.cli")
    _sol(home, *cli, "init", "--no-static")
    _sol(home, *cli, "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
         "--goal", "65000000000", "--days", "65", "--opens", "2025-08-14T00:00+07:00",
         "--account", "970436:0011001932418:HOI CTD")  # fmt: skip
    _sol(home, *cli, "campaign", "open", "cuba")
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "TNXDate,DocNo,Debit,Credit,Balance,Transactions in Detail\n"
        "25/08/2025,5213.1,,200.000,200.000,UNG HO CUBA NGUYEN VAN AN\n"
        "25/08/2025,5213.2,,300.000,500.000,UNG HO CUBA TRAN THI BINH\n",
        encoding="utf-8",
    )
    _sol(home, *cli, "import", str(statement), "--account", "970436:0011001932418")
    _sol(home, "manage.py", "migrate", "donations", "0009")
    _sol(home, "manage.py", "migrate", "transparency", "0006")
    db = home / "solidarity.sqlite3"
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(transparency_logentry)")]
        assert "gift" not in columns
        indexes = [r[1] for r in conn.execute("PRAGMA index_list(transparency_logentry)")]
        assert "log_ref_not_gift" not in indexes
    # When it migrates to the current schema
    _sol(home, "manage.py", "migrate")
    # Then every gift's entry names it, the log is still append-only, and the books check
    with sqlite3.connect(db) as conn:
        pairs = conn.execute(
            "SELECT e.gift, d.id FROM transparency_logentry e JOIN donations_donation d "
            "ON d.public_ref = e.ref WHERE e.kind = 'donation' ORDER BY e.id"
        ).fetchall()
        assert len(pairs) == 2 and all(gift == pk for gift, pk in pairs)
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(transparency_logentry)")}
        assert {"log_gift", "log_ref_not_gift", "log_kind_not_gift"} <= indexes
        assert not [i for i in indexes if i.startswith("transparency_logentry_ref")]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE transparency_logentry SET gift = NULL")
    assert _sol(home, *cli, "ledger", "check").strip() == "ledger check: clean"


@pytest.mark.parametrize("ref", ["AB%00CD", "AB%01CD", "X" * 33])
def test_a_receipt_address_no_entry_can_have_is_not_found(client, ref: str):
    (gift,) = _book(n=1)
    for path in (f"/r/{ref}", f"/c/cuba/receipt/{ref}.json", f"/vi/c/cuba/receipt/{ref}/"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/r/{gift.public_ref}").status_code == 302
