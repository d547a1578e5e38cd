"""Deposits: a batch's gifts to one campaign through one account as the lines of one journal
transaction, and `ledger check` proving the lines sum to its postings. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import donation_reverse, donations_record_many
from solidarity.apps.ledger.models import JournalTransaction, Posting
from solidarity.apps.ledger.selectors import campaign_totals
from tests.factories import OPENS, campaign_factory, gift

pytestmark = pytest.mark.django_db


def _deposit(amounts: list[int], slug: str = "cuba"):
    campaign = campaign_factory(slug=slug)
    gifts = [
        gift(campaign, a, received_at=OPENS + timedelta(minutes=i)) for i, a in enumerate(amounts)
    ]
    donations_record_many(campaign=campaign, gifts=gifts, deposit=True)
    return campaign


def _unguarded(statement: str, params: list[object]) -> None:
    """Run `statement` with the gift table's append-only trigger out of the way, as someone
    with write access to the database could (rolled back with the test)."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER donations_donation_no_update")
            cur.execute(statement, params)
        else:  # triggers (the append-only one, foreign keys) off for this statement
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(statement, params)
            cur.execute("SET LOCAL session_replication_role = DEFAULT")


def test_a_batch_of_gifts_is_one_deposit_whose_lines_are_the_gifts():
    # Given three gifts to one campaign through one account on one day, booked as a deposit
    campaign = _deposit([100_000, 250_000, 7])
    # Then they share one journal transaction of two postings for their sum
    (txn,) = JournalTransaction.objects.filter(campaign=campaign)
    assert txn.kind == "deposit"
    assert set(Donation.objects.values_list("txn_id", flat=True)) == {txn.pk}
    assert sorted(Posting.objects.filter(txn=txn).values_list("amount_minor", flat=True)) == [
        -350_007,
        350_007,
    ]
    assert campaign_totals(campaign=campaign)["donation_count"] == 3
    assert ledger_check().ok, ledger_check().problems


def test_gifts_of_two_days_are_two_deposits():
    campaign = campaign_factory()
    gifts = [gift(campaign, 1_000, received_at=OPENS + timedelta(days=d)) for d in (0, 1, 1)]
    donations_record_many(campaign=campaign, gifts=gifts, deposit=True)
    txns = JournalTransaction.objects.filter(campaign=campaign, kind="deposit")
    assert sorted(t.gifts.count() for t in txns) == [1, 2]
    assert ledger_check().ok, ledger_check().problems


def test_one_line_of_a_deposit_is_reversed_alone():
    campaign = _deposit([100_000, 250_000])
    first = Donation.objects.order_by("id").first()
    assert first is not None
    reversal, created = donation_reverse(
        donation=first, source="test", source_ref="back", reversed_at=OPENS + timedelta(days=1)
    )
    assert created
    assert reversal.txn.reverses_id is None
    assert campaign_totals(campaign=campaign)["raised_minor"] == 250_000
    assert ledger_check().ok, ledger_check().problems


def test_ledger_check_catches_one_corrupted_line_of_a_deposit():
    # Given a deposit of three gifts that checks
    _deposit([100_000, 250_000, 50_000])
    assert ledger_check().ok
    # When one line's amount is changed behind the books' back
    line = Donation.objects.order_by("id")[1]
    _unguarded("UPDATE donations_donation SET amount_minor = %s WHERE id = %s", [250_001, line.pk])
    # Then the check names the deposit whose lines no longer sum to its postings
    problems = ledger_check().problems
    assert any(
        f"transaction {line.txn_id} (deposit): its 3 gift lines sum to 400001, its postings "
        "to 400000" in p
        for p in problems
    ), problems


def test_ledger_check_catches_a_gift_moved_to_another_transaction():
    _deposit([100_000, 250_000])
    first, _ = Donation.objects.order_by("id")
    other = _deposit([5_000], slug="other")
    moved = Donation.objects.filter(campaign=other).get()
    _unguarded("UPDATE donations_donation SET txn_id = %s WHERE id = %s", [first.txn_id, moved.pk])
    problems = ledger_check().problems
    assert any(f"transaction {moved.txn_id} (deposit): no gift" in p for p in problems), problems
    assert any(f"transaction {first.txn_id} (deposit): 1 gifts of another" in p for p in problems)


def test_an_imported_statement_is_booked_as_deposits_and_found_once_the_indexer_caught_up(
    tmp_path,
):
    from bench.gen_statement import statement_write

    from solidarity.apps.banking.booking import BATCH
    from solidarity.apps.campaigns.services import AccountInput
    from solidarity.apps.donations.search import search_backlog, search_index_catch_up
    from solidarity.apps.donations.selectors import StatementQuery, donation_search
    from solidarity.apps.imports.services import statement_import

    # Given a statement of more than one batch (prepared beside the writer)
    campaign = campaign_factory(goal=10**15, accounts=(AccountInput("970436", "0011001932418"),))
    statement_write(tmp_path / "s.csv", rows=BATCH + 500, fmt="csv", seed=5)
    # When it is imported
    report = statement_import(path=tmp_path / "s.csv")
    # Then its gifts are lines of a few deposits, each checked
    assert report.status == "done", report.errors
    booked = Donation.objects.filter(campaign=campaign).count()
    assert booked == report.counts.booked > BATCH
    deposits = JournalTransaction.objects.filter(campaign=campaign, kind="deposit")
    assert 2 <= deposits.count() <= 2 * 7  # per batch and day
    assert not JournalTransaction.objects.filter(kind="donation").exists()
    assert ledger_check().ok, ledger_check().problems
    # and search finds them once the indexer has caught up, not before
    assert search_backlog().waiting == booked
    assert donation_search(campaign=campaign, query=StatementQuery(q="cuba")).rows == []
    while search_index_catch_up(limit=1000):
        pass
    assert search_backlog().waiting == 0
    assert donation_search(campaign=campaign, query=StatementQuery(q="nguyen")).rows
    # and importing it again books nothing
    assert statement_import(path=tmp_path / "s.csv").counts.booked == 0
