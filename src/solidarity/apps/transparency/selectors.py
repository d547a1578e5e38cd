"""Reads of a campaign's public log: its key, checkpoint, files, proofs and donors' receipts.

Proofs and receipts come from the published files (RFC 9162 §2.1.3-2.1.4 over the hash tiles
of c2sp.org/tlog-tiles), never from the database, so they prove what anyone can fetch.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.logfiles import (
    log_dir,
    log_store,
    log_store_in_database,
    signer_load,
)
from solidarity.apps.transparency.models import LogEntry, LogHead, LogState
from solidarity.apps.transparency.witnesses import log_witness_quorum, log_witnesses_active
from solidarity.core.tlog.checkpoint import Checkpoint, CheckpointError, checkpoint_open
from solidarity.core.tlog.cosignature import cosigner_parse, note_cosignatures
from solidarity.core.tlog.entry import TotalsCounter, entry_decode
from solidarity.core.tlog.hashing import HASH_SIZE, tree_root
from solidarity.core.tlog.keys import KEYS_PATH, keys_parse
from solidarity.core.tlog.note import NoteError, Verifier, verifier_parse
from solidarity.core.tlog.proof import ProofError, consistency_proof, inclusion_proof
from solidarity.core.tlog.receipt import Receipt, ReceiptError, receipt_build
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH
from solidarity.core.tlog.tiles import (
    ENTRIES,
    TILE_WIDTH,
    TileError,
    TileHashReader,
    TileStore,
    tile_parse,
    tile_path,
)
from solidarity.infra.tilestore import DirectoryTileStore, TileCache

RECEIPT_FORMAT = "solidarity-receipt/1"


@dataclass(frozen=True)
class LogBacklog:
    """The sequencer's work over every log: entries booked (given an index) but not yet in a
    signed checkpoint, and when the oldest of them was booked."""

    unpublished: int
    oldest_unpublished_at: datetime | None


def log_backlog() -> LogBacklog:
    """Booked minus published (as recorded in LogState after each checkpoint) for every log,
    and the booking time of the first unpublished entry of each, the oldest of them."""
    published = dict(LogState.objects.values_list("campaign_id", "published_size"))
    unpublished = 0
    oldest: datetime | None = None
    for campaign_id, size in LogHead.objects.values_list("campaign_id", "size"):
        done = published.get(campaign_id, 0)
        if size <= done:
            continue
        unpublished += size - done
        first = (
            LogEntry.objects.filter(campaign_id=campaign_id, index=done)
            .values_list("created_at", flat=True)
            .first()
        )
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return LogBacklog(unpublished=unpublished, oldest_unpublished_at=oldest)


class LogNotFound(LookupError):
    """No such campaign, or its log has no published checkpoint yet."""


class ProofRequestError(ValueError):
    """A proof was asked for sizes or an index outside the published log."""


class LogFiles:
    """A TileReader over a log's store that also answers for older tree sizes.

    A partial hash tile of an older size may never have been written (a batch can jump past
    it); its hashes are the prefix of the full tile or of any wider partial tile
    (c2sp.org/tlog-tiles, "Partial tiles"), so the reader serves that prefix instead.
    """

    def __init__(self, store: DirectoryTileStore | TileStore) -> None:
        self.store = store

    def read(self, path: str) -> bytes | None:
        if path != CHECKPOINT_PATH:
            tile_parse(path)  # ValueError for anything that is not a canonical tile path
        found = self.store.read(path)
        if found is not None or path == CHECKPOINT_PATH:
            return found
        tile = tile_parse(path)
        if tile.level == ENTRIES or tile.width == TILE_WIDTH:
            return None
        full = tile_path(tile.level, tile.index)
        widths = self.store.partial_widths(full)  # type: ignore[union-attr]
        for candidate in [full, *(f"{full}.p/{w}" for w in widths if w > tile.width)]:
            data = self.store.read(candidate)
            if data is not None:
                return data[: tile.width * HASH_SIZE]
        return None


@dataclass(frozen=True)
class PublishedLog:
    """A log as published: its campaign, origin, verifier key and current signed checkpoint.

    `tiles` is the log's shared TileCache (proofs served from memory once a tile was read),
    `note_text` and `root_b64` the checkpoint as the API renders it.
    """

    campaign_id: int
    origin: str
    vkey: str
    verifier: Verifier
    note: bytes
    checkpoint: Checkpoint
    files: LogFiles
    tiles: TileCache
    note_text: str
    root_b64: str


STATE_TTL = 10.0
"""Seconds a log's origin and key (fixed when the log is created) are reused without asking
the database. The checkpoint itself is never reused once its file changed (checked per call)."""


@dataclass
class _CachedLog:
    campaign_id: int
    origin: str
    vkey: str
    verifier: Verifier
    root: Path | str
    tiles: TileCache
    fetched: float
    stamp: tuple[int, int, int] | bytes | None = None
    published: PublishedLog | None = None


_cache: dict[str, _CachedLog] = {}
_cache_lock = threading.Lock()


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _log_state(slug: str, root: Path | str, *, fresh: bool) -> _CachedLog:
    """The log's fixed facts: from the process cache, or one indexed read of LogState."""
    entry = _cache.get(slug)
    if fresh or entry is None or entry.root != root or time.monotonic() - entry.fetched > STATE_TTL:
        row = (
            LogState.objects.filter(campaign__slug=slug)
            .values_list("campaign_id", "origin", "vkey")
            .first()
        )
        if row is None:
            with _cache_lock:
                _cache.pop(slug, None)
            raise LogNotFound(f"campaign {slug!r} has no published log")
        campaign_id, origin, vkey = row
        if entry is not None and (entry.root, entry.vkey, entry.origin) == (root, vkey, origin):
            entry.fetched = time.monotonic()  # same log: keep its checkpoint and tiles
            entry.campaign_id = campaign_id
        else:
            entry = _CachedLog(
                campaign_id, origin, vkey, verifier_parse(vkey), root, TileCache(), time.monotonic()
            )
            with _cache_lock:
                _cache[slug] = entry
    return entry


def log_vkey(campaign: Campaign) -> str | None:
    """The verifier key (c2sp.org/signed-note) of the campaign's log; None before it exists."""
    state = LogState.objects.filter(campaign=campaign).only("vkey").first()
    if state is not None:
        return state.vkey
    signer = signer_load(campaign.slug)
    return signer.verifier.vkey if signer is not None else None


def log_published_size(*, campaign: Campaign) -> int:
    """How many entries the sequencer has published (as it recorded); 0 before the first.

    An entry has its index from its booking on, but is only in the public log once the
    published size is above that index.
    """
    size = (
        LogState.objects.filter(campaign=campaign).values_list("published_size", flat=True).first()
    )
    return int(size or 0)


def log_published(*, slug: str) -> PublishedLog:
    """The campaign's log at its current checkpoint; LogNotFound before the first one.

    The checkpoint is looked at on every call (the file stat'ed, or the row read, on a store
    in the database) and re-read and re-verified whenever it changed, so the answer never
    names a size other than the published checkpoint's.
    """
    in_database = log_store_in_database()
    root: Path | str = f"database:{slug}" if in_database else log_dir(slug)
    fresh = False
    while True:
        entry = _log_state(slug, root, fresh=fresh)
        if in_database:
            note_or_none = log_store(slug).read(CHECKPOINT_PATH)
            if note_or_none is None:
                raise LogNotFound(f"the log of {slug!r} has no published checkpoint yet")
            note: bytes = note_or_none
            stamp: tuple[int, int, int] | bytes = note
            if entry.published is not None and entry.stamp == stamp:
                return entry.published
        else:
            path = Path(root) / CHECKPOINT_PATH
            try:
                stamp = _stamp(os.stat(path))
            except FileNotFoundError:
                raise LogNotFound(f"the log of {slug!r} has no published checkpoint yet") from None
            cached = entry.published
            if cached is not None and entry.stamp == stamp:
                return cached
            try:
                with open(path, "rb") as fh:
                    stamp = _stamp(os.fstat(fh.fileno()))
                    note = fh.read()
            except FileNotFoundError:
                raise LogNotFound(f"the log of {slug!r} has no published checkpoint yet") from None
        try:
            cp = checkpoint_open(note, entry.verifier, entry.origin)
        except (NoteError, CheckpointError) as e:
            if not fresh:
                fresh = True  # the cached key may belong to a log since replaced: ask again
                continue
            raise LogNotFound(f"the checkpoint of {slug!r} does not verify: {e}") from None
        published = PublishedLog(
            entry.campaign_id,
            entry.origin,
            entry.vkey,
            entry.verifier,
            note,
            cp,
            LogFiles(log_store(slug) if in_database else DirectoryTileStore(root)),
            entry.tiles,
            note.decode(),
            _b64(cp.root),
        )
        entry.published, entry.stamp = published, stamp
        return published


def log_info(*, slug: str) -> dict[str, Any]:
    """Origin, key, size and root of the published log, the signed checkpoint itself, and
    which of the log's witnesses cosigned it against the quorum."""
    log = log_published(slug=slug)
    campaign = Campaign.objects.filter(slug=slug).first()
    witnesses = log_witnesses_active(campaign) if campaign is not None else []
    try:
        cosigned = note_cosignatures(log.note_text, [cosigner_parse(w.vkey) for w in witnesses])
    except NoteError:
        cosigned = []
    return {
        "campaign": slug,
        "origin": log.origin,
        "vkey": log.vkey,
        "size": log.checkpoint.size,
        "root": log.root_b64,
        "checkpoint": log.note_text,
        "files": f"/log/{slug}/",
        "witnesses": [w.vkey for w in witnesses],
        "quorum": log_witness_quorum(campaign) if campaign is not None else 0,
        "cosigned_by": [c.name for c in cosigned],
    }


def log_file_read(*, slug: str, path: str) -> bytes | None:
    """A published file ("checkpoint", "keys.json" or a canonical tile path) as stored;
    None if absent.

    Any other path, including any attempt to leave the log's directory, is None.
    """
    if path not in (CHECKPOINT_PATH, KEYS_PATH):
        try:
            tile_parse(path)
        except ValueError:
            return None
    if log_store_in_database():
        return log_store(slug).read(path)
    try:
        return (log_dir(slug) / path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inclusion_proof_get(*, slug: str, index: int, size: int | None = None) -> dict[str, Any]:
    """RFC 9162 §2.1.3 proof of entry `index` in the tree of `size` (default: the checkpoint's)."""
    log = log_published(slug=slug)
    published = log.checkpoint.size
    size = published if size is None else size
    if not 0 < size <= published:
        raise ProofRequestError(f"size must be between 1 and the published size {published}")
    if not 0 <= index < size:
        raise ProofRequestError(f"index must be between 0 and {size - 1} for size {size}")
    reader = TileHashReader(log.files, size, shared=log.tiles)
    try:
        proof = inclusion_proof(index, size, reader)
        root = log.root_b64 if size == published else _b64(tree_root(size, reader))
    except (ProofError, TileError) as e:
        raise LogNotFound(f"the files of {slug!r} cannot prove this: {e}") from None
    return {
        "origin": log.origin,
        "index": index,
        "size": size,
        "root": root,
        "proof": [_b64(h) for h in proof],
        "checkpoint": log.note_text,
    }


def consistency_proof_get(*, slug: str, old: int, new: int) -> dict[str, Any]:
    """RFC 9162 §2.1.4 proof that the tree of size `old` is a prefix of the tree of size `new`."""
    log = log_published(slug=slug)
    published = log.checkpoint.size
    if not 0 < new <= published:
        raise ProofRequestError(f"to must be between 1 and the published size {published}")
    if not 0 < old <= new:
        raise ProofRequestError(f"from must be between 1 and to ({new})")
    reader = TileHashReader(log.files, new, shared=log.tiles)
    try:
        proof = consistency_proof(old, new, reader)
        old_root = tree_root(old, TileHashReader(log.files, old, shared=log.tiles))
        new_root = log.checkpoint.root if new == published else tree_root(new, reader)
    except (ProofError, TileError) as e:
        raise LogNotFound(f"the files of {slug!r} cannot prove this: {e}") from None
    return {
        "origin": log.origin,
        "from": old,
        "to": new,
        "from_root": _b64(old_root),
        "to_root": _b64(new_root),
        "proof": [_b64(h) for h in proof],
        "checkpoint": log.note_text,
    }


@dataclass(frozen=True)
class ReceiptLookup:
    """A gift's receipt, or why there is none yet (`receipt` None: not in a checkpoint yet)."""

    campaign: Campaign
    ref: str
    kind: str
    entry: dict[str, Any]
    index: int | None
    origin: str | None
    vkey: str | None
    receipt: Receipt | None
    reversal: dict[str, Any] | None

    @property
    def pending(self) -> bool:
        return self.receipt is None

    def as_json(self) -> dict[str, Any]:
        """The downloadable receipt (README, "The public log"); only when not pending."""
        assert self.receipt is not None
        return {
            "format": RECEIPT_FORMAT,
            "campaign": self.campaign.slug,
            "ref": self.ref,
            "origin": self.origin,
            "vkey": self.vkey,
            **self.receipt.as_dict(),
            # The rotations from the log's first key to the one that signed the checkpoint.
            "keys": keys_parse(log_file_read(slug=self.campaign.slug, path=KEYS_PATH)),
        }


GiftFinder = Callable[[str], int | None]
"""The id of the gift whose public reference is the argument; None when none is."""

_gift_finders: list[GiftFinder] = []


def log_gift_finder_register(find: GiftFinder) -> None:
    """Let receipts find a gift's entry (`LogEntry.gift`) by the gift's public reference.

    The log sits below the gifts it records and cannot read them: the donations app
    registers its finder when Django is ready. Registering the same function again does
    nothing."""
    if find not in _gift_finders:
        _gift_finders.append(find)


_REF = re.compile(r"[^\x00-\x1f\x7f]{1,32}")
"""What an entry's ref can be: up to 32 characters (`LogEntry.ref`), none a control one."""


def _entries_by_ref(ref: str, *, slug: str | None = None) -> list[LogEntry]:
    """The entries whose ref is `ref` (of the campaign `slug` if given), in log order: a
    gift's through its id (`_gift_finders`), any other kind's through the partial index on
    ref, whose condition (kind is not "donation") the query repeats so both databases use
    it. The campaign is checked on the few rows found: a condition on it in the query made
    SQLite walk the campaign's whole log instead."""
    if not _REF.fullmatch(ref):  # no entry has one (and PostgreSQL refuses NUL in text)
        return []
    rows = list(
        LogEntry.objects.exclude(kind="donation").filter(ref=ref).select_related("campaign")
    )
    gifts = [gift for find in _gift_finders if (gift := find(ref)) is not None]
    if gifts:
        rows += LogEntry.objects.filter(gift__in=gifts, kind="donation", ref=ref).select_related(
            "campaign"
        )
    return sorted((r for r in rows if slug is None or r.campaign.slug == slug), key=lambda r: r.pk)


def receipt_slug(*, ref: str) -> str | None:
    """The slug of the campaign whose log holds the entry `ref`, for short links."""
    rows = _entries_by_ref(ref)
    return rows[0].campaign.slug if rows else None


def receipt_get(*, slug: str, ref: str) -> ReceiptLookup:
    """The receipt of the entry `ref` (a gift's public reference) in the campaign's log.

    LogNotFound when the campaign has no such entry. A gift booked but not yet covered by a
    published checkpoint comes back pending.
    """
    rows = _entries_by_ref(ref, slug=slug)
    if not rows:
        raise LogNotFound(f"campaign {slug!r} has no log entry {ref!r}")
    main = next((r for r in rows if r.kind == "donation"), rows[0])
    reversal = next((r for r in rows if r.kind == "reversal"), None)
    receipt = origin = vkey = None
    try:
        log = log_published(slug=slug)
    except LogNotFound:
        log = None
    if log is not None:
        origin, vkey = log.origin, log.vkey
        if main.index < log.checkpoint.size:
            try:
                receipt = receipt_build(
                    log.files,
                    main.index,
                    log.verifier,
                    [w.vkey for w in log_witnesses_active(main.campaign)],
                    log_witness_quorum(main.campaign),
                )
            except (ReceiptError, TileError):
                receipt = None
    return ReceiptLookup(
        campaign=main.campaign,
        ref=ref,
        kind=main.kind,
        entry=entry_decode(bytes(main.body)),
        index=main.index,
        origin=origin,
        vkey=vkey,
        receipt=receipt,
        reversal=entry_decode(bytes(reversal.body)) if reversal is not None else None,
    )


def log_entries_totals(*, campaign: Campaign) -> TotalsCounter:
    """The totals rule over every entry of the campaign's log as queued in the database.

    All entries, sequenced or not: each was written in its booking transaction, so these are
    the totals the published log reaches once the sequencer catches up.
    """
    counter = TotalsCounter()
    bodies = LogEntry.objects.filter(campaign=campaign).values_list("body", flat=True)
    for body in bodies.iterator(chunk_size=5000):
        counter.add_entry(entry_decode(bytes(body)))
    return counter
