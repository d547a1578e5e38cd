"""An import's preparing processes decide each batch ahead (`AheadBatch`): what they decide is
what the writer decides alone, and the writer uses it only for the batch it was made from and
only where nothing the database holds says otherwise. SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.gen_statement import ACCOUNT, statement_write
from django.db import transaction
from django.utils import timezone

from solidarity.apps.banking.accounts import AccountResolver
from solidarity.apps.banking.booking import (
    AheadBatch,
    bank_transactions_book,
    batch_prepare_offline,
)
from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, PendingReversal, ReviewItem
from solidarity.apps.banking.report import BookReport
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.imports.pipeline import PreparedAhead
from solidarity.apps.imports.services import _spool_follow, _spool_write
from solidarity.apps.ledger.models import JournalTransaction
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.statements import BankTransaction, statement_read
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

BATCH = 400


class _Undo(Exception):
    pass


@pytest.fixture
def statement(tmp_path: Path) -> list[BankTransaction]:
    """A generated Vietcombank statement of 2,000 rows (gifts, returns, fees) and the
    campaign its account belongs to."""
    path = tmp_path / "s.csv"
    statement_write(path, rows=2_000, seed=7, days=2)
    campaign_factory(
        slug="cuba",
        goal=10**13,
        opens_at=datetime(2025, 8, 13, tzinfo=UTC),
        accounts=(AccountInput("970436", ACCOUNT, "HOI CHU THAP DO VIET NAM"),),
    )
    return list(statement_read(path, name=path.name))


def _resolver() -> AccountResolver:
    resolver = AccountResolver()
    resolver.preload()
    return resolver


def _ahead(txs: Sequence[BankTransaction]) -> list[AheadBatch | None]:
    resolver = _resolver()
    # Through pickle, as they travel from a preparing process.
    return [
        pickle.loads(pickle.dumps(batch_prepare_offline(resolver, txs[i : i + BATCH])))
        for i in range(0, len(txs), BATCH)
    ]


def _book(txs: Sequence[BankTransaction], ahead: Sequence[AheadBatch | None] | None) -> BookReport:
    return bank_transactions_book(
        transactions=txs,
        source_kind="statement",
        resolver=_resolver(),
        batch_size=BATCH,
        search_later=True,
        prepared_batches=iter(ahead) if ahead is not None else None,
    )


def _books() -> dict[str, Any]:
    """What the books hold, but for what is random per booking (salts, commitments)."""
    gifts = sorted(
        Donation.objects.values_list(
            "source_ref",
            "public_ref",
            "amount_minor",
            "received_at",
            "display_name",
            "bank_ref",
            "private__memo_shown",
            "private__donor_name",
            "txn__kind",
            "txn__memo",
        )
    )
    return {
        "gifts": gifts,
        "reviews": sorted(ReviewItem.objects.values_list("source_ref", "reason")),
        "movements": sorted(AccountMovement.objects.values_list("source_ref", "kind")),
        "pending": sorted(PendingReversal.objects.values_list("source_ref", "resolved_at")),
        "log": LogEntry.objects.count(),
        "deposits": JournalTransaction.objects.filter(kind="deposit").count(),
    }


def _booked_alone(txs: Sequence[BankTransaction]) -> tuple[BookReport, dict[str, Any]]:
    """The report and books of booking `txs` without decisions made ahead (rolled back)."""
    try:
        with transaction.atomic():
            report = _book(txs, None)
            books = _books()
            raise _Undo
    except _Undo:
        pass
    return report, books


def test_decisions_made_ahead_book_what_the_writer_books_alone(statement):
    # Given the statement booked by the writer alone (then undone)
    alone, books = _booked_alone(statement)
    assert alone.booked > 1_500 and alone.not_gifts and alone.reversals_pending
    # When it is booked with every batch decided and prepared ahead
    report = _book(statement, _ahead(statement))
    # Then the report and the books are the same
    assert report == alone
    assert _books() == books
    assert ledger_check().ok, ledger_check().problems


def test_decisions_made_for_other_batches_are_not_used(statement):
    alone, books = _booked_alone(statement)
    # Given decisions out of step with the batches (the first one missing)
    ahead = _ahead(statement)[1:]
    # When the statement is booked with them
    report = _book(statement, ahead)
    # Then none was used for a batch it was not made from
    assert report == alone
    assert _books() == books


def test_a_batch_whose_gifts_are_partly_booked_is_booked_again_without_duplicates(statement):
    alone, books = _booked_alone(statement)
    ahead = _ahead(statement)
    # Given the first 600 transactions booked already (a file cut short, or overlapping)
    first = _book(statement[:600], None)
    # When the whole statement comes with its decisions made ahead
    report = _book(statement, ahead)
    # Then the gifts booked before are duplicates, each gift is booked once, and the books
    # are those of booking it once
    assert report.booked + first.booked == alone.booked
    assert report.duplicates >= first.booked
    now = _books()
    assert [g[:-2] for g in now.pop("gifts")] == [g[:-2] for g in books.pop("gifts")]
    assert now.pop("deposits") > books.pop("deposits")  # the gifts booked first have their own
    assert now == books
    assert ledger_check().ok, ledger_check().problems


def test_a_review_line_under_a_gifts_identity_makes_its_batch_decided_again(statement):
    ahead = _ahead(statement)
    first = ahead[0]
    assert first is not None
    _, source, identity = next(iter(first.gifts))
    tx = next(t for t in statement if t.identity == identity)
    # Given a review line under the identity of a gift the batch decided ahead
    ReviewItem.objects.create(
        source=source,
        source_ref=identity,
        bin="970436",
        number=ACCOUNT,
        amount_minor=tx.amount_minor,
        currency="VND",
        booked_at=tx.booked_at,
        match_kind="none",
        reason="held by hand",
    )
    # When the statement is booked
    report = _book(statement, ahead)
    # Then that credit is a duplicate of the review line, not a gift
    assert not Donation.objects.filter(source_ref=identity).exists()
    assert report.duplicates == 1
    assert Donation.objects.count() == report.booked


def test_a_preparing_process_that_dies_leaves_its_batches_to_the_writer(statement, caplog):
    complete = multiprocessing.get_context("fork").Event()
    complete.set()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    _spool_write(spool, statement)
    spool.flush()
    odd = {statement[i].identity for i in range(BATCH, len(statement), 2 * BATCH)}

    def dies_on_odd_batches(batch: Sequence[BankTransaction]) -> AheadBatch | None:
        if batch[0].identity in odd:
            os._exit(3)
        return batch_prepare_offline(_resolver(), batch)

    # Given two preparing processes, the one taking batches 1, 3, ... dying at its first
    ahead = PreparedAhead(
        spool,
        read=lambda own: _spool_follow(own, complete=complete),
        prepare=dies_on_odd_batches,
        batch_size=BATCH,
        workers=2,
    )
    try:
        got = [next(ahead) for _ in range(5)]
    finally:
        ahead.close()
        spool.close()
    # Then the writer gets the other's batches, and nothing for the dead one's
    assert [b is not None for b in got] == [True, False, True, False, True]
    assert got[0] is not None and got[0].fits(statement[:BATCH])
    assert got[2] is not None and got[2].fits(statement[2 * BATCH : 3 * BATCH])
    assert "ended with 3" in caplog.text


def test_a_batch_decided_ahead_travels_whole():
    when = timezone.now()
    batch = AheadBatch(3, "a", "c", {}, (0, 1, 2))
    assert pickle.loads(pickle.dumps(batch)) == batch
    assert batch.fits([_tx("a", when), _tx("b", when), _tx("c", when)])
    assert not batch.fits([_tx("a", when), _tx("c", when)])


def _tx(identity: str, when: datetime) -> BankTransaction:
    return BankTransaction(
        account=ACCOUNT,
        bin="970436",
        currency="VND",
        amount_minor=1,
        direction="credit",
        booked_at=when,
        value_date=None,
        bank_ref=None,
        memo="",
        counterparty_name=None,
        counterparty_account=None,
        is_reversal=False,
        reverses_ref=None,
        source_format="csv",
        line=1,
        identity=identity,
    )


def test_a_preparing_process_works_ahead_within_its_bound_and_its_two_files_take_turns(
    statement, monkeypatch
):
    from solidarity.apps.imports import pipeline

    # Every batch starts the other file again (once the writer is done with it), and a
    # process may be at most two batches ahead of the writer
    monkeypatch.setattr(pipeline, "SWITCH_BYTES", 1)
    monkeypatch.setattr(pipeline, "LOOKAHEAD", 2)
    complete = multiprocessing.get_context("fork").Event()
    complete.set()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    _spool_write(spool, statement)
    spool.flush()
    ahead = PreparedAhead(
        spool,
        read=lambda own: _spool_follow(own, complete=complete),
        prepare=lambda batch: batch_prepare_offline(_resolver(), batch),
        batch_size=BATCH,
        workers=1,
    )
    try:
        (worker,) = ahead._workers
        # Given a writer that has taken nothing yet, the process stops two batches ahead
        deadline = time.monotonic() + 30
        while sum(os.fstat(f.fileno()).st_size > 0 for f in worker.files) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)
        sizes = [os.fstat(f.fileno()).st_size for f in worker.files]
        # (batch 0 in the first file, batch 1 in the second, and nothing further)
        assert pipeline._batch_at(worker.files[0], 0, worker.magic, 0) is not None
        assert pipeline._batch_at(worker.files[1], 0, worker.magic, 1) is not None
        # When the writer takes the batches, each comes from the file it was written to
        got = [next(ahead) for _ in range(len(statement) // BATCH)]
        assert next(ahead) is None
    finally:
        ahead.close()
        spool.close()
    assert all(s > 0 for s in sizes) and worker.process.exitcode == 0
    # Then every batch arrived whole and in order
    for i, batch in enumerate(got):
        assert batch is not None and batch.fits(statement[i * BATCH : (i + 1) * BATCH])


def test_without_room_for_its_files_a_file_is_prepared_by_the_writer(statement, monkeypatch):
    from solidarity.apps.imports import pipeline

    made = []
    real = tempfile.TemporaryFile

    def no_room(*args: Any, **kwargs: Any) -> Any:
        if made:
            raise OSError(28, "No space left on device")
        made.append(real())  # closed by the pipeline
        return made[-1]

    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    monkeypatch.setattr(pipeline.tempfile, "TemporaryFile", no_room)
    try:
        ahead = PreparedAhead(
            spool, read=lambda own: iter(()), prepare=lambda batch: None, batch_size=BATCH
        )
        # Then no process is started, the file made is closed, and the writer gets nothing
        assert ahead._workers == [] and made[0].closed
        assert next(ahead) is None
        ahead.close()
    finally:
        spool.close()
