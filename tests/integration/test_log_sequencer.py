"""The Django sequencer: outbox → tiles → checkpoint, crash recovery, proofs, receipts, check.

Runs on SQLite and again on PostgreSQL. A store that fails at each step stands in for a crash
(Sunlight's approach); the next pass must repair the log, and a full verification follows.
"""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import donation_reverse, donations_record_many
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.transparency import sequencer as seq
from solidarity.apps.transparency.logfiles import key_root, log_dir
from solidarity.apps.transparency.models import LogEntry, LogHead, LogState
from solidarity.apps.transparency.selectors import (
    LogNotFound,
    ProofRequestError,
    consistency_proof_get,
    inclusion_proof_get,
    log_vkey,
    receipt_get,
)
from solidarity.core.tlog.checkpoint import checkpoint_open
from solidarity.core.tlog.hashing import leaf_hash
from solidarity.core.tlog.note import verifier_parse
from solidarity.core.tlog.proof import consistency_verify, inclusion_verify
from solidarity.core.tlog.receipt import receipt_verify
from solidarity.core.tlog.tiles import bundle_decode, bundles_for_size
from solidarity.core.tlog.verify import log_verify
from solidarity.infra.logreaders import source_open
from solidarity.infra.tilestore import DirectoryTileStore
from tests.factories import OPENS, campaign_factory, gift

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


def _book(campaign, n: int, amount: int = 50_000) -> list[str]:
    account = campaign.accounts.first()
    results = donations_record_many(
        campaign=campaign, gifts=[gift(campaign, amount + i, account=account) for i in range(n)]
    )
    return [r.public_ref for r in results]


def _published_entries(slug: str) -> list[bytes]:
    vkey = log_vkey(LogState.objects.get(campaign__slug=slug).campaign)
    assert vkey
    root = log_dir(slug)
    cp = checkpoint_open((root / "checkpoint").read_bytes(), verifier_parse(vkey))
    out: list[bytes] = []
    for t in bundles_for_size(cp.size):
        out += bundle_decode((root / t.path).read_bytes(), t.width)
    return out


def test_every_booked_entry_is_published_once_in_booking_order():
    # Given a campaign with gifts and a reversal queued in the outbox
    campaign = campaign_factory(slug="seq")
    refs = _book(campaign, 300)
    donation = Donation.objects.get(public_ref=refs[7])
    donation_reverse(
        donation=donation, source="test", source_ref="rev-1", reversed_at=OPENS + timedelta(days=1)
    )
    # When the sequencer runs in small batches
    results = seq.log_sequence_once(batch=64)
    # Then every entry is published, in booking (id) order, at the index it was booked with
    (result,) = results
    expected = list(LogEntry.objects.filter(campaign=campaign).order_by("id"))
    assert result.size == result.appended == len(expected) == 302
    assert [e.index for e in expected] == list(range(302))
    assert _published_entries("seq") == [bytes(e.body) for e in expected]
    state = LogState.objects.get(campaign=campaign)
    assert state.published_size == LogHead.objects.get(campaign=campaign).size == 302
    report = log_verify(source_open(log_dir("seq")), state.vkey)
    totals = campaign_totals(campaign=campaign)
    vnd = report.totals["VND"]
    assert vnd["raised"] == totals["raised_minor"]
    assert vnd["gifts"] == totals["donation_count"] == 299
    assert vnd["reversed"] == totals["reversed_minor"] == donation.amount_minor
    assert report.kinds == {"account": 1, "donation": 300, "reversal": 1}
    # And a second pass has nothing to do
    assert seq.log_sequence_once()[0].appended == 0


def test_the_key_file_is_private_and_matches_the_state():
    campaign = campaign_factory(slug="keyed")
    seq.log_sequence_once()
    key = key_root() / "keyed.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key_root().stat().st_mode & 0o777 == 0o700
    state = LogState.objects.get(campaign=campaign)
    assert state.origin == "solidarity.localhost/keyed"
    assert state.vkey.startswith("solidarity.localhost/keyed+")
    assert "PRIVATE" not in state.vkey
    assert not list(log_dir("keyed").rglob("*.key"))


class CrashingStore(DirectoryTileStore):
    """A directory store that dies (OSError) at its n-th write, tile batch or checkpoint."""

    def __init__(self, root: Path, crash_at: int) -> None:
        super().__init__(root, durable=False)
        self.crash_at = crash_at
        self.calls = 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls == self.crash_at:
            raise OSError(f"simulated crash at write {self.calls}")

    def write_once_many(self, items):
        items = list(items)
        # half the files land, then the crash: a torn batch
        super().write_once_many(items[: len(items) // 2])
        self._tick()
        super().write_once_many(items[len(items) // 2 :])

    def replace(self, path, data):
        self._tick()
        super().replace(path, data)


def test_a_crash_at_any_write_is_repaired_by_the_next_pass():
    campaign = campaign_factory(slug="crash")
    sizes: list[int] = []
    crashes = 0
    for crash_at in [*range(1, 7), *range(1, 7)]:
        # Given more gifts queued, and a store that dies at its crash_at-th write
        _book(campaign, 37)
        store = CrashingStore(log_dir("crash"), crash_at)
        try:
            seq.log_sequence_campaign(campaign, batch=16, store=store)
        except OSError:
            crashes += 1
        if (log_dir("crash") / "checkpoint").exists():
            sizes.append(_size("crash"))
        # When the sequencer is restarted on a sound store
        result = seq.log_sequence_campaign(campaign, batch=16, durable=False)
        sizes.append(result.size)
    # Then the log verifies, holds every entry once, and never shrank
    assert crashes == 12
    state = LogState.objects.get(campaign=campaign)
    report = log_verify(source_open(log_dir("crash")), state.vkey)
    assert report.size == LogEntry.objects.filter(campaign=campaign).count() == 1 + 12 * 37
    assert sizes == sorted(sizes)
    published = _published_entries("crash")
    assert len(set(published)) == len(published)
    assert ledger_check().ok


def _size(slug: str) -> int:
    return int((log_dir(slug) / "checkpoint").read_text().split("\n")[1])


def test_the_log_is_rebuilt_from_the_database_when_its_files_are_lost():
    campaign = campaign_factory(slug="rebuild")
    _book(campaign, 700)
    seq.log_sequence_once(batch=100, durable=False)
    before = {p: p.read_bytes() for p in log_dir("rebuild").rglob("*") if p.is_file()}
    root_before = LogState.objects.get(campaign=campaign).root
    # When the published directory is lost and the sequencer runs again
    for p in before:
        p.unlink()
    seq.log_sequence_once(durable=False)
    # Then the same tree comes back: same root, and every file of the final size identical
    state = LogState.objects.get(campaign=campaign)
    assert bytes(state.root) == bytes(root_before)
    log_verify(source_open(log_dir("rebuild")), state.vkey)
    assert (log_dir("rebuild") / "tile/entries/000").read_bytes() == before[
        log_dir("rebuild") / "tile/entries/000"
    ]


def test_a_checkpoint_ahead_of_the_database_is_refused_not_overwritten():
    campaign = campaign_factory(slug="ahead")
    _book(campaign, 10)
    seq.log_sequence_once(durable=False)
    note = (log_dir("ahead") / "checkpoint").read_bytes()
    # Given a database that forgot part of what was published (a restored backup)
    LogHead.objects.filter(campaign=campaign).update(size=5)
    # When the sequencer runs
    (result,) = seq.log_sequence_once(durable=False)
    # Then it stops that log, says why, and leaves the published checkpoint alone
    assert result.error and "refusing to go back" in result.error
    assert (log_dir("ahead") / "checkpoint").read_bytes() == note


def test_a_lost_key_is_not_replaced():
    campaign = campaign_factory(slug="lostkey")
    seq.log_sequence_once(durable=False)
    (key_root() / "lostkey.key").unlink()
    _book(campaign, 3)
    (result,) = seq.log_sequence_once(durable=False)
    assert result.error and "restore" in result.error
    assert not (key_root() / "lostkey.key").exists()


def test_proofs_come_from_the_tiles_and_verify():
    campaign = campaign_factory(slug="proofs")
    _book(campaign, 200)
    seq.log_sequence_once(batch=50, durable=False)
    old_size = _size("proofs")
    old_root = base64.b64decode(inclusion_proof_get(slug="proofs", index=0)["root"])
    _book(campaign, 333)
    seq.log_sequence_once(batch=1000, durable=False)
    entries = _published_entries("proofs")
    size = len(entries)
    for index in (0, 1, 150, old_size - 1, size - 1):
        for at in (old_size, size):
            if index >= at:
                continue
            p = inclusion_proof_get(slug="proofs", index=index, size=at)
            inclusion_verify(
                leaf_hash(entries[index]),
                index,
                at,
                [base64.b64decode(h) for h in p["proof"]],
                base64.b64decode(p["root"]),
            )
    c = consistency_proof_get(slug="proofs", old=old_size, new=size)
    assert base64.b64decode(c["from_root"]) == old_root
    consistency_verify(
        old_size,
        size,
        old_root,
        base64.b64decode(c["to_root"]),
        [base64.b64decode(h) for h in c["proof"]],
    )
    with pytest.raises(ProofRequestError, match="index"):
        inclusion_proof_get(slug="proofs", index=size)
    with pytest.raises(ProofRequestError, match="size"):
        inclusion_proof_get(slug="proofs", index=0, size=size + 1)
    with pytest.raises(ProofRequestError, match="from"):
        consistency_proof_get(slug="proofs", old=0, new=size)
    with pytest.raises(LogNotFound):
        inclusion_proof_get(slug="nope", index=0)


def test_a_receipt_is_pending_until_sequenced_then_verifies_offline():
    campaign = campaign_factory(slug="receipts")
    (ref,) = _book(campaign, 1)
    assert receipt_get(slug="receipts", ref=ref).pending
    seq.log_sequence_once(durable=False)
    found = receipt_get(slug="receipts", ref=ref)
    assert not found.pending
    doc = found.as_json()
    entry = receipt_verify(doc, doc["vkey"])
    assert entry["ref"] == ref
    assert entry["kind"] == "donation"
    assert doc["origin"] == "solidarity.localhost/receipts"
    with pytest.raises(LogNotFound):
        receipt_get(slug="receipts", ref="NOPE")


def test_ledger_check_compares_the_log_entries_with_the_totals():
    campaign = campaign_factory(slug="checked")
    _book(campaign, 20)
    assert ledger_check().ok
    CampaignTotals.objects.filter(campaign=campaign).update(reversed_minor=1)
    report = ledger_check()
    assert any("the log entries give 0" in p for p in report.problems), report.problems


@pytest.mark.postgres
def test_only_one_sequencer_per_log_on_postgresql():
    # Given a queued log and another sequencer holding its advisory lock in its own session
    # (the lock needs no data, so the test's transaction need not commit)
    campaign = campaign_factory(slug="locked")
    _book(campaign, 5)
    holding, release = threading.Event(), threading.Event()
    results: list[seq.SequenceResult] = []

    def other() -> None:
        try:
            with seq.log_lock("locked") as got:
                assert got
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    assert holding.wait(10)
    # When a second sequencer runs, it does not proceed
    try:
        results = seq.log_sequence_once(durable=False)
    finally:
        release.set()
        thread.join(10)
    assert [(r.busy, r.appended) for r in results] == [(True, 0)]
    assert not (log_dir("locked") / "checkpoint").exists()
    # Then once the lock is free, it does
    (done,) = seq.log_sequence_once(durable=False)
    assert (done.busy, done.size) == (False, 6)
