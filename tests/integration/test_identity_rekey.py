"""Databases booked under the old identity keys (the account as each file spelled it, CSV
document numbers in the content scheme) keep working: the re-keying migration moves them to
today's keys, public references and the log stay as they were, and the same transfers
imported again in any format are not booked twice."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from bench.gen_statement import ICT, Row, rows_write
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from solidarity.apps.banking.booking import bank_transactions_book
from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, PendingReversal, ReviewItem
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation, Reversal
from solidarity.apps.imports.rekey import identities_rekey
from solidarity.apps.imports.services import statement_import
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.matching import memo_normalize
from solidarity.core.statements import BankTransaction, statement_read
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

SUFFIX = {"csv": "csv", "xlsx": "xlsx", "camt.053": "xml", "camt.054": "xml", "mt940": "sta"}


class OldIdentityCounter:
    """The identity rule as it was before (main at 83f9bd1, base.py), kept to build a
    database the way that code did: the stated account leads every key."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, date], dict[str, int]] = {}

    def _occurrence(self, account: str, day: date, key: str) -> int:
        group = self._seen.setdefault((account, day), {})
        group[key] = group.get(key, 0) + 1
        return group[key]

    def by_ref(self, *, account, ref, direction, amount_minor, currency, day) -> str:
        base = f"{account}|ref|{ref}|{direction}|{amount_minor}{currency}|{day.isoformat()}"
        n = self._occurrence(account, day, base)
        return base if n == 1 else f"{base}#{n}"

    def by_content(
        self, *, account, ref, direction, amount_minor, currency, day, normalized_memo
    ) -> str:
        material = "\x1f".join(
            (
                account,
                day.isoformat(),
                direction,
                str(amount_minor),
                currency,
                ref or "",
                normalized_memo,
            )
        )
        digest = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
        n = self._occurrence(account, day, digest)
        return f"{account}|h|{digest}|{n}"


def old_identities(txs: list[BankTransaction], fmt: str) -> list[BankTransaction]:
    """The transactions under the keys the old code gave them: camt and MT940 by their bank
    reference, a CSV/XLSX by content (its document number in the digest)."""
    ids = OldIdentityCounter()
    out = []
    for tx in txs:
        common = {
            "account": tx.account,
            "direction": tx.direction,
            "amount_minor": tx.amount_minor,
            "currency": tx.currency,
            "day": tx.booked_at.date(),
        }
        if fmt in ("csv", "xlsx"):
            old = ids.by_content(ref=tx.bank_ref, normalized_memo=memo_normalize(tx.memo), **common)
        else:
            old = ids.by_ref(ref=tx.bank_ref, **common)
        out.append(replace(tx, identity=old))
    return out


def rows() -> list[Row]:
    def at(day: int, minute: int) -> datetime:
        return datetime(2024, 9, day, 9, minute, tzinfo=ICT)

    return [
        Row(at(10, 0), "5213.47231", "credit", 200_000, "NGUYEN VAN AN ung ho Cuba", None),
        Row(at(10, 1), "5213.47231", "credit", 200_000, "ung ho Cuba", None),  # same doc no.
        Row(at(10, 2), "5213.47232", "credit", 500_000, "IBFT CUBA", None),
        Row(at(10, 3), "5213.47233", "debit", 5_500, "Phi dich vu SMS", None),
        Row(at(11, 0), "5213.50001", "credit", 1_000_000, "CT nhanh 247 Cu Ba", None),
        Row(at(11, 5), "5213.50002", "debit", 500_000, "HOAN TRA GD 5213.47232", None, True),
    ]


def write(directory: Path, fmt: str) -> Path:
    path = directory / f"statement-{fmt.replace('.', '')}.{SUFFIX[fmt]}"
    rows_write(path, rows(), fmt=fmt)
    return path


def book_the_old_way(path: Path, fmt: str) -> None:
    txs = old_identities(list(statement_read(path, name=path.name)), fmt)
    bank_transactions_book(transactions=txs, source_kind="statement")


def rekey():
    # As the migration runs it: statements executed with (empty) parameters, as a schema
    # editor does.
    with connection.cursor() as cur:
        return identities_rekey(
            model=apps.get_model,
            execute=lambda sql: cur.execute(sql, ()),
            vendor=connection.vendor,
        )


def books(campaign) -> tuple:
    t = campaign_totals(campaign=campaign)
    return (
        t["raised_minor"],
        Donation.objects.count(),
        Reversal.objects.count(),
        AccountMovement.objects.count(),
        ReviewItem.objects.count(),
    )


@pytest.mark.parametrize("first", ["csv", "camt.053", "mt940"])
def test_old_keys_are_rekeyed_and_no_format_books_them_again(tmp_path: Path, first: str):
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    # Given a database booked by the old code from one format
    book_the_old_way(write(tmp_path, first), first)
    before = books(campaign)
    assert before == (1_400_000, 4, 1, 1, 0)
    assert all("0011001932418|" in d.source_ref for d in Donation.objects.all())
    published = list(Donation.objects.order_by("id").values_list("public_ref", "txn_id"))
    log = list(LogEntry.objects.order_by("id").values_list("id", "body"))
    # When its identities are re-keyed
    report = rekey()
    # Then every gift, fee and return gets today's key; only a CSV return (whose own
    # document number was never stored) stays under its old key
    assert report.kept_booked_twice == 0
    assert report.kept_unverifiable == (1 if first == "csv" else 0)
    assert not any("0011001932418" in d.source_ref for d in Donation.objects.all())
    assert list(Donation.objects.order_by("id").values_list("public_ref", "txn_id")) == published
    assert list(LogEntry.objects.order_by("id").values_list("id", "body")) == log
    # and gifts stay append-only
    with pytest.raises(DatabaseError), transaction.atomic():
        Donation.objects.filter(pk=Donation.objects.first().pk).update(source_ref="x")
    # and the same statement in every format books nothing again
    for fmt in ("csv", "xlsx", "camt.053", "camt.054", "mt940"):
        report = statement_import(path=write(tmp_path, fmt))
        assert report.status == "done"
        assert report.counts.booked == report.counts.not_gifts == report.counts.reversals == 0
        assert books(campaign) == before, fmt
    # nor a second run of the re-keying
    assert rekey().rekeyed == 0
    assert ledger_check().ok


def test_a_transfer_booked_twice_under_two_spellings_keeps_one_key(tmp_path: Path):
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    # Given the old code booked the camt and the MT940 of one day, each transfer twice
    book_the_old_way(write(tmp_path, "camt.053"), "camt.053")
    book_the_old_way(write(tmp_path, "mt940"), "mt940")
    assert Donation.objects.count() == 8
    # When re-keyed, then the first booking of each gets today's key, the second is reported
    report = rekey()
    assert report.rekeyed == 6
    assert report.kept_booked_twice == 6
    assert all(s == "bank:970436:0011001932418" for s, _ in report.booked_twice)
    # and no format books them a third time
    raised = campaign_totals(campaign=campaign)["raised_minor"]
    for fmt in ("csv", "camt.053", "mt940"):
        assert statement_import(path=write(tmp_path, fmt)).counts.booked == 0
    assert campaign_totals(campaign=campaign)["raised_minor"] == raised
    assert PendingReversal.objects.filter(resolved_at__isnull=True).count() == 0


# PostgreSQL only, as the other committing tests: on SQLite the flush after a committing test
# meets the append-only triggers.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_rekeys_an_installation_booked_before_it(tmp_path: Path):
    from django.db.migrations.executor import MigrationExecutor

    # Given an installation before the migration, with gifts booked from a CSV the old way
    MigrationExecutor(connection).migrate([("imports", "0003_pending_reversal_decision")])
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    book_the_old_way(write(tmp_path, "csv"), "csv")
    before = books(campaign)
    # When it migrates to the current schema
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    # Then the gifts carry today's keys and no other format books them again
    assert all(d.source_ref.startswith("ref|") for d in Donation.objects.all())
    for fmt in ("camt.053", "mt940", "xlsx"):
        assert statement_import(path=write(tmp_path, fmt)).counts.booked == 0
    assert books(campaign) == before
