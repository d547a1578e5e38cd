"""The sequencer: publishes each campaign's log entries as its tiled log.

Implements the write side of c2sp.org/tlog-tiles and tlog-checkpoint for the database log:
entries are written with their index in the booking transaction (`log_entries_append`, which
advances `LogHead`), so the sequencer writes nothing to the database but its informational
`LogState`. It batches like Sunlight's pool: every pass publishes the new entries in batches
of at most `batch`, each batch ending in a signed checkpoint; the daemon runs a pass every
`interval` seconds, or at once when `batch` entries are waiting. A backlog of CATCH_UP_CHUNK
entries or more (a sequencer catching up after downtime, a bulk import) is published in
batches of CATCH_UP_CHUNK.

Contract (crash ordering), per log, while holding the log's single-writer lock:

1. C = size of the published checkpoint, S = LogHead.size as committed. S ≥ C always: every
   index below a committed S is committed (the head's row lock orders them).
2. The entries [C, S) are read in index order, in batches; for each batch its bundles and
   tiles are written (TileWriter from C), then a checkpoint of the batch's end is signed and
   atomically published, then recorded in LogState.published_size/root (informational).
3. S is read again; the pass ends when no entry was added meanwhile.

Witnesses (c2sp.org/tlog-witness): each checkpoint of step 2 is first offered to the log's
witnesses, after its tiles are durable and before it is published; it is published once, with
the cosignatures they gave within SOLIDARITY_WITNESS_TIMEOUT (see witnesses.CheckpointCosigning).

Reading batch k+1 from the database overlaps writing batch k's files in a writer thread;
checkpoints are still published in order, one at a time, and a failed write stops the pass
before any later batch is published.

So every file on disk describes committed entries: a crash at any instant is repaired by the
next pass, which rewrites byte-identical files (write_once refuses different bytes); the
checkpoint is only ever replaced by a larger one; every committed entry is published once, at
its index. A checkpoint larger than S (files of another database) or signed by another key is
refused, never overwritten: the sequencer stops that log and says why.

Before publishing, the entries the database holds below C must hash to the published tree
(`log_divergence`: roots and leaf hashes, not counts). A restored database that is behind the
published log, or that booked other entries at published indexes, is refused with the
indexes that are missing or different. When entries are only missing, the sequencer raises
LogHead to C (`log_head_reserve`, its one write besides LogState) so that new bookings take
indexes after the published log instead of forking it; `solidarity log recover` then writes
the missing entries from the published bundles.

The lock: a lease in the database on PostgreSQL (`log_lock`; no session-level lock, so it works
through PgBouncer's transaction pooling, and a standby takes over when the holder dies), an
exclusive `fcntl.flock` on a file under SOLIDARITY_HOME on SQLite. A sequencer that finds the
lock taken skips that log. The lock is not what keeps the log from forking: each checkpoint
replaces the one its pass read by compare-and-set (`TileStore.replace_if`), so a writer who
lost its lease without knowing fails with TileConflictError instead of publishing a second
tree of the same size.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.logfiles import (
    LogKeyError,
    default_origin,
    lock_file,
    log_store,
    signer_ensure,
    signer_load,
)
from solidarity.apps.transparency.models import LogHead, LogState
from solidarity.apps.transparency.tilestore import DatabaseTileStore
from solidarity.apps.transparency.witnesses import CheckpointCosigning
from solidarity.apps.workers.leases import LeaseKeeper
from solidarity.core.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_open,
    checkpoint_sign,
)
from solidarity.core.tlog.hashing import HASH_SIZE, TreeHead, leaf_hash, leaf_row, tree_root
from solidarity.core.tlog.keys import KEYS_PATH, KeyChainError, keys_follow, keys_parse
from solidarity.core.tlog.note import NoteError, Signer, verifier_parse
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH, checkpoint_current
from solidarity.core.tlog.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileError,
    TileHashReader,
    TileStore,
    TileWriter,
)

logger = logging.getLogger("solidarity.log")

BATCH = 4096
"""Default pool size: a pass publishes a checkpoint at least every BATCH entries."""
CATCH_UP_CHUNK = 65_536
"""Entries read from the database and written per checkpoint while catching up."""


class SequencerError(RuntimeError):
    """A log cannot be sequenced safely; nothing was overwritten. The message says why."""


@dataclass(frozen=True)
class SequenceResult:
    """One log after a pass: its published size, entries published now, or why it was skipped."""

    slug: str
    size: int = 0
    appended: int = 0
    busy: bool = False
    error: str | None = None


LOG_LEASE = "log:{slug}"
"""The lease name of one log's single writer (databases shared by many hosts)."""
ROLE_LEASE = "sequencer"
"""The lease of the sequencer daemon: one node's daemon runs passes at a time."""


@contextmanager
def log_lock(slug: str) -> Iterator[bool]:
    """Try to take the log's single-writer lock without waiting; yields whether it was taken.

    On a database shared by many hosts (PostgreSQL) the lock is the lease LOG_LEASE, renewed
    from a thread while held and released on exit; a holder that dies loses it when it
    expires. On SQLite it is an exclusive `fcntl.flock` on a file under SOLIDARITY_HOME.
    """
    if connection.vendor == "postgresql":
        keeper = LeaseKeeper(LOG_LEASE.format(slug=slug))
        if not keeper.try_once():
            yield False
            return
        keeper.start()
        try:
            yield True
        finally:
            keeper.stop()
        return
    fd = os.open(lock_file(slug), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            got = False
        else:
            got = True
        yield got
    finally:
        os.close(fd)  # releases the flock


def _state_and_signer(campaign: Campaign) -> tuple[LogState, Signer]:
    """The log's state row (created with the log) and its signer; LogKeyError if they differ."""
    state = LogState.objects.filter(campaign=campaign).first()
    if state is None:
        signer = signer_ensure(campaign.slug, default_origin(campaign.slug))
        state, _ = LogState.objects.get_or_create(
            campaign=campaign,
            defaults={"origin": signer.name, "vkey": signer.verifier.vkey},
        )
    else:
        found = signer_load(campaign.slug)
        if found is None:
            raise LogKeyError(
                f"log {state.origin}: its signing key file is missing; restore "
                f"keys/{campaign.slug}.key from a backup (a new key would orphan the log)"
            )
        signer = found
    if signer.verifier.vkey != state.vkey and _announced(campaign, state, signer):
        LogState.objects.filter(pk=campaign.pk).update(vkey=signer.verifier.vkey)
        state.vkey = signer.verifier.vkey
    if signer.verifier.vkey != state.vkey:
        raise LogKeyError(
            f"log {state.origin}: the key file holds {signer.verifier.vkey}, "
            f"but the log was signed by {state.vkey}"
        )
    return state, signer


def _announced(campaign: Campaign, state: LogState, signer: Signer) -> bool:
    """Whether the published keys.json proves a rotation from the log's recorded key to the
    key file's (a rotation cut off before it recorded its key, or one a restored database
    predates)."""
    try:
        links = keys_parse(log_store(campaign.slug).read(KEYS_PATH))
        keys = keys_follow(verifier_parse(state.vkey), links, state.origin)
    except (KeyChainError, NoteError, OSError):
        return False
    return any(v.vkey == signer.verifier.vkey for v, _ in keys[1:])


def _published(store: TileStore, signer: Signer, origin: str) -> Checkpoint | None:
    try:
        return checkpoint_current(store, signer, origin)
    except (NoteError, CheckpointError) as e:
        raise SequencerError(f"log {origin}: the published checkpoint is not ours: {e}") from None


def _opened(note: bytes | None, signer: Signer, origin: str) -> Checkpoint | None:
    try:
        return None if note is None else checkpoint_open(note, signer.verifier, origin)
    except (NoteError, CheckpointError) as e:
        raise SequencerError(f"log {origin}: the published checkpoint is not ours: {e}") from None


def log_published_open(
    campaign: Campaign, *, durable: bool = True
) -> tuple[LogState, TileStore, Checkpoint | None]:
    """The log's state, its tile store and its published checkpoint (verified with the log's
    key; None before the first). Raises LogKeyError or SequencerError as a pass would."""
    state, signer = _state_and_signer(campaign)
    store = log_store(campaign.slug, durable=durable)
    return state, store, _published(store, signer, state.origin)


_BODIES_SQL = (
    'SELECT body FROM transparency_logentry WHERE campaign_id = %s AND "index" >= %s'
    ' AND "index" < %s ORDER BY "index"'
)


def _bodies(campaign: Campaign, lo: int, hi: int) -> list[bytes]:
    """The entries with indexes [lo, hi), in order; SequencerError if one is missing."""
    with connection.cursor() as cur:
        cur.execute(_BODIES_SQL, [campaign.pk, lo, hi])
        # (campaign, index) is unique: hi - lo rows in index order are exactly lo..hi-1.
        out = [b if type(b) is bytes else bytes(b) for (b,) in cur.fetchall()]
    if len(out) != hi - lo:
        raise SequencerError(
            f"log of {campaign.slug}: an entry of [{lo}, {hi}) is missing from the database"
        )
    return out


class _Publisher:
    """Writes tiles and signs checkpoints for one pass, from the published size upwards."""

    def __init__(
        self,
        state: LogState,
        store: TileStore,
        signer: Signer,
        size: int,
        note: bytes | None,
        *,
        cosigning: CheckpointCosigning | None = None,
    ) -> None:
        self.origin = state.origin
        self.store = store
        self.signer = signer
        self.writer = TileWriter(store, size)
        self.initial = size
        self.cosigning = cosigning
        self.note = note  # the checkpoint this publisher's next one must replace

    @property
    def size(self) -> int:
        return self.writer.size

    def publish(self, entries: Sequence[bytes]) -> TreeHead:
        head = self.writer.append(entries)
        # The tiles of head.size are durable: only now may a checkpoint cover them.
        cp = Checkpoint(self.origin, head.size, head.root)
        note = checkpoint_sign(cp, self.signer)
        if self.cosigning:
            # Witnesses check consistency against tiles already durable; the checkpoint is
            # published once, with the cosignatures gathered within the witnesses' timeout.
            note = self.cosigning.cosign(note, self.store)
        # Compare-and-set: published only on top of the checkpoint this pass started from
        # (or its own last), so a second writer can never publish another tree of this size.
        self.store.replace_if(CHECKPOINT_PATH, note, self.note)
        self.note = note
        return head


def _ranges(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indexes as inclusive (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _ranges_text(indexes: Sequence[int], limit: int = 8) -> str:
    runs = _ranges(indexes)
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"and {len(runs) - limit} more runs")
    return ", ".join(parts)


@dataclass(frozen=True)
class Divergence:
    """How the database's entries below the published size differ from the published log.

    `missing`: published indexes the database holds no entry for (a restored database that
    is behind); `different`: indexes where the database holds another entry than the one
    published (a database that booked on top of an older state). Empty: they agree.
    """

    size: int
    missing: tuple[int, ...] = ()
    different: tuple[int, ...] = ()
    tiles_bad: str = ""

    def __bool__(self) -> bool:
        return bool(self.missing or self.different or self.tiles_bad)

    def describe(self, slug: str) -> str:
        parts = []
        if self.tiles_bad:
            parts.append(self.tiles_bad)
        if self.different:
            parts.append(
                f"{len(self.different):,} published entries differ from the database's at "
                f"indexes {_ranges_text(self.different)}"
            )
        if self.missing:
            parts.append(
                f"{len(self.missing):,} published entries are missing from the database: "
                f"indexes {_ranges_text(self.missing)}"
            )
        advice = (
            f"run `solidarity log recover {slug}`"
            if self.missing and not self.different and not self.tiles_bad
            else 'see README, "Backup, restore and recovery"'
        )
        return (
            f"the database does not hold the published log of {self.size:,} entries: "
            + "; ".join(parts)
            + f"; refusing to publish ({advice})"
        )


_ROWS_SQL = (
    'SELECT "index", body FROM transparency_logentry WHERE campaign_id = %s AND "index" >= %s'
    ' AND "index" < %s ORDER BY "index"'
)


def log_divergence(
    campaign: Campaign, state: LogState, store: TileStore, current: Checkpoint
) -> Divergence:
    """Compare the database's first `current.size` entries with the published tree.

    Compares roots, not counts: the published tiles must hash to the checkpoint's root, the
    prefix the database recorded as published (LogState.published_size/root) must be the
    published tree's prefix of that size, and every entry after it, up to the checkpoint,
    must have the leaf hash the published level-0 tiles hold. Costs nothing when LogState
    already records this checkpoint (the steady state), else reads only the entries after
    the recorded prefix. On agreement, records the checkpoint in LogState.
    """
    size = current.size
    recorded, recorded_root = int(state.published_size), bytes(state.root)
    if size == 0 or (recorded == size and recorded_root == current.root):
        return Divergence(size)
    hashes = TileHashReader(store, size)
    try:
        if tree_root(size, hashes) != current.root:
            return Divergence(size, tiles_bad="the published tiles do not hash to the checkpoint")
        start = recorded if 0 < recorded <= size else 0
        if start and tree_root(start, hashes) != recorded_root:
            start = 0  # the recorded prefix is not the published one: compare every entry
        missing: list[int] = []
        different: list[int] = []
        for lo in range(start, size, CATCH_UP_CHUNK):
            hi = min(size, lo + CATCH_UP_CHUNK)
            with connection.cursor() as cur:
                cur.execute(_ROWS_SQL, [campaign.pk, lo, hi])
                rows = {int(i): b if type(b) is bytes else bytes(b) for i, b in cur.fetchall()}
            for t in range(lo >> TILE_HEIGHT, ((hi - 1) >> TILE_HEIGHT) + 1):
                tile = hashes.tile(0, t)
                first = max(lo, t << TILE_HEIGHT)
                last = min(hi, (t + 1) << TILE_HEIGHT)
                held = [b for i in range(first, last) if (b := rows.get(i)) is not None]
                off = (first & (TILE_WIDTH - 1)) * HASH_SIZE
                if len(held) == last - first and (
                    leaf_row(held) == tile[off : off + len(held) * HASH_SIZE]
                ):
                    continue  # the usual case: one comparison per tile
                for i in range(first, last):
                    body = rows.get(i)
                    if body is None:
                        missing.append(i)
                        continue
                    off = (i & (TILE_WIDTH - 1)) * HASH_SIZE
                    if leaf_hash(body) != tile[off : off + HASH_SIZE]:
                        different.append(i)
    except TileError as e:
        return Divergence(size, tiles_bad=f"the published tiles are incomplete: {e}")
    found = Divergence(size, tuple(missing), tuple(different))
    if not found:
        _record(campaign, TreeHead(size, current.root))
    return found


def log_head_reserve(campaign: Campaign, size: int) -> None:
    """Raise the log's head to `size` (never lower it), so bookings take indexes after a
    published log the database is missing entries of; `log recover` fills the gap."""
    LogHead.objects.get_or_create(campaign=campaign)
    LogHead.objects.filter(campaign=campaign, size__lt=size).update(size=size)


def _record(campaign: Campaign, head: TreeHead) -> None:
    LogState.objects.filter(pk=campaign.pk, published_size__lt=head.size).update(
        published_size=head.size, root=head.root, published_at=timezone.now()
    )


def _head_size(campaign: Campaign) -> int:
    """The committed number of entries of the log (0 before its first entry)."""
    size = LogHead.objects.filter(campaign=campaign).values_list("size", flat=True).first()
    return int(size or 0)


def log_sequence_campaign(
    campaign: Campaign, *, batch: int = BATCH, durable: bool = True, store: TileStore | None = None
) -> SequenceResult:
    """One pass over one log: publish its entries from the published size up, in batches.

    Raises SequencerError, LogKeyError, TileError or OSError when the log cannot proceed;
    whatever was published before stays valid (see the module contract).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    with log_lock(campaign.slug) as got:
        if not got:
            return SequenceResult(campaign.slug, busy=True)
        state, signer = _state_and_signer(campaign)
        store = store if store is not None else log_store(campaign.slug, durable=durable)
        note = store.read(CHECKPOINT_PATH)
        current = _opened(note, signer, state.origin)
        if current is not None:
            divergence = log_divergence(campaign, state, store, current)
            if divergence.missing and not divergence.different:
                log_head_reserve(campaign, current.size)
            if divergence:
                raise SequencerError(f"log {state.origin}: {divergence.describe(campaign.slug)}")
        cosigning = CheckpointCosigning(campaign)
        publisher = _Publisher(
            state, store, signer, current.size if current else 0, note, cosigning=cosigning
        )
        read = publisher.size  # entries read so far, published or handed to the writer
        target = _head_size(campaign)
        if read > target:
            raise SequencerError(
                f"log {state.origin}: the published checkpoint holds {read} entries but the "
                f"database only {target}; refusing to go back (files of another database?)"
            )
        # A database store is written from this thread (its connection and transaction);
        # a directory store's files are written by a writer thread while the next batch is read.
        pool = _Inline() if isinstance(store, DatabaseTileStore) else ThreadPoolExecutor(1)
        with pool:
            pending: Future[TreeHead] | None = None
            try:
                while read < target:
                    step = CATCH_UP_CHUNK if target - read >= CATCH_UP_CHUNK else batch
                    hi = min(target, read + step)
                    bodies = _bodies(campaign, read, hi)
                    if pending is not None:
                        _record(campaign, pending.result())
                        cosigning.flush()
                    pending = pool.submit(publisher.publish, bodies)
                    read = hi
                    if read == target:
                        target = _head_size(campaign)
                if pending is not None:
                    _record(campaign, pending.result())
                    cosigning.flush()
                    pending = None
            finally:
                if pending is not None and not pending.cancel():
                    pending.exception()  # a pass that fails stops its writer before leaving
        return SequenceResult(campaign.slug, size=read, appended=read - publisher.initial)


class _Inline:
    """An executor that runs each task at once, in the calling thread."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., TreeHead], *args: object) -> Future[TreeHead]:
        done: Future[TreeHead] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as e:
            done.set_exception(e)
        return done


def _pending_campaigns(slugs: Sequence[str] | None) -> list[Campaign]:
    found = Campaign.objects.filter(pk__in=LogHead.objects.values("campaign_id")) | (
        Campaign.objects.filter(pk__in=LogState.objects.values("campaign_id"))
    )
    if slugs is not None:
        found = found.filter(slug__in=slugs)
    return list(found.order_by("pk"))


def log_sequence_once(
    *, batch: int = BATCH, slugs: Sequence[str] | None = None, durable: bool = True
) -> list[SequenceResult]:
    """One pass over every log with queued entries or a state (or only `slugs`).

    A log that cannot proceed is reported in its result's `error`; the others still run.
    """
    results = []
    for campaign in _pending_campaigns(slugs):
        try:
            results.append(log_sequence_campaign(campaign, batch=batch, durable=durable))
        except (SequencerError, LogKeyError, TileError, OSError) as e:
            logger.error("sequencing %s: %s", campaign.slug, e)
            results.append(SequenceResult(campaign.slug, error=str(e)))
    return results


def _queue_full(batch: int) -> bool:
    """Whether some log has at least `batch` entries beyond its last recorded checkpoint."""
    published = LogState.objects.filter(campaign_id=OuterRef("campaign_id")).values(
        "published_size"
    )
    return (
        LogHead.objects.annotate(published=Coalesce(Subquery(published), 0))
        .filter(size__gte=F("published") + batch)
        .exists()
    )


def log_sequence_forever(
    *,
    interval: float = 1.0,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    exit_with_parent: bool = False,
    report: Callable[[list[SequenceResult]], None] | None = None,
) -> None:
    """Run passes every `interval` seconds, or sooner when `batch` entries wait, until `stop`.

    Passes run only while this process holds the ROLE_LEASE, so one daemon of the
    installation sequences at a time and another takes over within a lease's time when it
    dies. Errors are logged and retried on the next pass; with exit_with_parent the loop ends
    when the process that started it is gone. report, if given, gets each pass's results.
    """
    stop = stop or threading.Event()
    parent = os.getppid()
    role = LeaseKeeper(ROLE_LEASE).start()
    try:
        _forever(
            role,
            interval=interval,
            batch=batch,
            stop=stop,
            parent=parent,
            exit_with_parent=exit_with_parent,
            report=report,
        )
    finally:
        role.stop()


def _forever(
    role: LeaseKeeper,
    *,
    interval: float,
    batch: int,
    stop: threading.Event,
    parent: int,
    exit_with_parent: bool,
    report: Callable[[list[SequenceResult]], None] | None,
) -> None:
    while not stop.is_set():
        started = time.monotonic()
        if role.held:
            try:
                close_old_connections()
                results = log_sequence_once(batch=batch)
                if report is not None:
                    report(results)
            except Exception:
                logger.exception("sequencer pass failed; retrying")
                connection.close()
        deadline = started + interval
        while not stop.is_set():
            if exit_with_parent and os.getppid() != parent:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                break
            stop.wait(min(left, max(interval / 10, 0.05)))
            try:
                if role.held and _queue_full(batch):
                    break
            except DatabaseError:
                connection.close()
