"""The auditor's verifier: re-derive a whole tiled log from its public files and check it.

Checks, per c2sp.org/tlog-tiles, tlog-checkpoint and signed-note: the checkpoint's signature and
origin; every entry bundle against the level-0 hash tiles (RFC 9162 §2.1.1 leaf hashes); every
hash tile level against the level below; the root against the checkpoint; each entry's canonical
form and schema; and, given an older checkpoint, an RFC 9162 §2.1.4 consistency proof from the
new tiles; and the quorum of witness cosignatures (c2sp.org/tlog-cosignature) the log's own
announcements require. Needs no database and opens nothing: the files come from a TileReader
(`solidarity.infra.logreaders` reads a directory or an http(s) base URL).
"""

from __future__ import annotations

import base64
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from solidarity.core.tlog.checkpoint import CheckpointError
from solidarity.core.tlog.cosignature import (
    WitnessPolicy,
    checkpoint_quorum_check,
    cosigner_parse,
)
from solidarity.core.tlog.entry import EntryError, TotalsCounter, entries_decode, entry_decode
from solidarity.core.tlog.hashing import HASH_SIZE, leaf_row, row_root, tree_root
from solidarity.core.tlog.keys import (
    KEYS_PATH,
    KeyChainError,
    checkpoint_open_any,
    keys_follow,
    keys_parse,
)
from solidarity.core.tlog.note import NoteError, Verifier, verifier_parse
from solidarity.core.tlog.proof import ProofError, consistency_proof, consistency_verify
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH
from solidarity.core.tlog.tiles import (
    ENTRIES,
    TILE_BYTES,
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileError,
    TileHashReader,
    TileReader,
    bundle_decode,
    bundles_for_size,
    tiles_for_size,
)

WITNESS_MARK = b'"kind":"witness'
"""In the canonical JSON of every `witness` and `witness_quorum` entry (and of no other kind)."""


class LogVerifyError(Exception):
    """The log failed a check; where names the file, entry or signature, reason says what failed."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class VerifyReport:
    """What a successful verification established; as_dict() is JSON-serialisable."""

    origin: str
    size: int
    root: str
    hash_tiles: int
    bundles: int
    kinds: dict[str, int] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    since_size: int | None = None
    since_root: str | None = None
    quorum: int = 0
    cosigned_by: list[str] = field(default_factory=list)
    witnesses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _ChunkResult:
    roots: bytes = b""
    sums: dict[tuple[str, str], int] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    error: tuple[str, str] | None = None
    witness_entries: list[tuple[int, bytes]] = field(default_factory=list)


def _fetch(reader: TileReader, tile: Tile) -> bytes:
    data = reader.read(tile.path)
    if data is None:
        raise LogVerifyError(tile.path, "missing")
    if tile.level != ENTRIES and len(data) != tile.width * HASH_SIZE:
        raise LogVerifyError(tile.path, f"{len(data)} bytes, expected {tile.width * HASH_SIZE}")
    return data


def _verify_chunk(reader: TileReader, tiles: list[Tile], check_entries: bool) -> _ChunkResult:
    """Bundles against level-0 tiles, entries, and the roots of the full level-0 tiles."""
    res = _ChunkResult()
    counter = TotalsCounter()
    roots: list[bytes] = []
    try:
        for bt in tiles:
            bundle = _fetch(reader, bt)
            hashes = _fetch(reader, Tile(0, bt.index, bt.width))
            try:
                entries = bundle_decode(bundle, bt.width)
            except ValueError as e:
                raise LogVerifyError(bt.path, str(e)) from None
            row = leaf_row(entries)
            if row != hashes:
                i = next(
                    i
                    for i in range(bt.width)
                    if row[i * 32 : i * 32 + 32] != hashes[i * 32 : i * 32 + 32]
                )
                raise LogVerifyError(
                    f"entry {bt.start + i}",
                    f"leaf hash in {Tile(0, bt.index, bt.width).path} does not match {bt.path}",
                )
            if bt.width == TILE_WIDTH:
                roots.append(row_root(hashes))
            if WITNESS_MARK in bundle:
                res.witness_entries += [
                    (bt.start + i, e) for i, e in enumerate(entries) if WITNESS_MARK in e
                ]
            if check_entries:
                try:
                    entries_decode(entries, counter)
                except EntryError as err:
                    raise LogVerifyError(
                        f"entry {bt.start + err.index} in {bt.path}", str(err)
                    ) from None
    except LogVerifyError as e:
        res.error = (e.where, e.reason)
    except (OSError, TileError) as e:
        res.error = ("source", str(e))
    res.roots = b"".join(roots)
    res.sums, res.counts = counter.sums, counter.counts
    return res


def _chunks(tiles: list[Tile], n: int) -> list[list[Tile]]:
    step = max(1, -(-len(tiles) // n))
    return [tiles[i : i + step] for i in range(0, len(tiles), step)]


def log_verify(
    reader: TileReader,
    vkey: str | Verifier,
    since_checkpoint: bytes | str | None = None,
    *,
    origin: str | None = None,
    check_entries: bool = True,
    workers: int = 1,
    witnesses: Sequence[str] | None = None,
    quorum: int | None = None,
) -> VerifyReport:
    """Verify a whole log; raise LogVerifyError naming the first failure found.

    origin defaults to the key name. With workers > 1 the bundles are checked in that many
    processes (spawned, so this is safe inside servers); reader must then be picklable.
    The checkpoint must carry `quorum` valid cosignatures (c2sp.org/tlog-cosignature) by
    `witnesses` (verifier keys); both default to what the log's own `witness` and
    `witness_quorum` entries announced.
    """
    try:
        verifier = vkey if isinstance(vkey, Verifier) else verifier_parse(vkey)
    except NoteError as e:
        raise LogVerifyError("vkey", str(e)) from None
    note = reader.read(CHECKPOINT_PATH)
    if note is None:
        raise LogVerifyError(CHECKPOINT_PATH, "missing")
    try:
        keys = keys_follow(verifier, keys_parse(reader.read(KEYS_PATH)), origin)
    except KeyChainError as e:
        raise LogVerifyError(KEYS_PATH, str(e)) from None
    try:
        cp = checkpoint_open_any(note, keys, origin)
    except (NoteError, CheckpointError) as e:
        raise LogVerifyError(f"{CHECKPOINT_PATH} signature", str(e)) from None
    size = cp.size

    # Given: a checkpoint signed by the log. When: every file is re-derived bottom-up.
    bundles = bundles_for_size(size)
    upper = [t for t in tiles_for_size(size) if t.level > 0]
    fetched = {t.path: _fetch(reader, t) for t in upper}
    parts = _chunks(bundles, max(1, workers) * 4)
    if workers > 1 and len(parts) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = list(
                pool.map(_verify_chunk, [reader] * len(parts), parts, [check_entries] * len(parts))
            )
    else:
        results = [_verify_chunk(reader, p, check_entries) for p in parts]

    # Then: bundles match level-0 tiles, and each level's full tiles hash to the level above.
    for r in results:
        if r.error:
            raise LogVerifyError(*r.error)
    roots = b"".join(r.roots for r in results)
    level = 0
    while roots:
        level += 1
        row = b"".join(fetched[t.path] for t in upper if t.level == level)
        if row[: len(roots)] != roots:
            i = next(
                i
                for i in range(len(roots) // 32)
                if row[i * 32 : i * 32 + 32] != roots[i * 32 : i * 32 + 32]
            )
            above = next(t for t in upper if t.level == level and t.index == i >> TILE_HEIGHT)
            below = Tile(level - 1, i, TILE_WIDTH).path
            raise LogVerifyError(above.path, f"hash {i & 255} does not match the root of {below}")
        roots = b"".join(
            row_root(row[i : i + TILE_BYTES])
            for i in range(0, len(row) - TILE_BYTES + 1, TILE_BYTES)
        )
    try:
        root = tree_root(size, TileHashReader(reader, size, fetched))
    except TileError as e:
        raise LogVerifyError("tiles", str(e)) from None
    if root != cp.root:
        raise LogVerifyError(CHECKPOINT_PATH, "root does not match the root of the tiles")
    for n, (_, link_cp) in enumerate(keys[1:]):
        # Each rotation's checkpoint must be a prefix of this tree: no key forks the log.
        try:
            ok = (
                link_cp is not None
                and link_cp.size <= size
                and (tree_root(link_cp.size, TileHashReader(reader, size, fetched)) == link_cp.root)
            )
        except (TileError, ValueError):
            ok = False
        if not ok:
            raise LogVerifyError(KEYS_PATH, f"key link {n}: its checkpoint is not part of the log")

    policy = WitnessPolicy.empty()
    for index, data in sorted(e for r in results for e in r.witness_entries):
        try:
            policy.apply(entry_decode(data))
        except (EntryError, NoteError) as e:
            raise LogVerifyError(f"entry {index}", f"witness announcement: {e}") from None
    try:
        cosigners = (
            list(policy.cosigners.values())
            if witnesses is None
            else [cosigner_parse(w) for w in witnesses]
        )
        need = policy.quorum if quorum is None else quorum
        cosigned = checkpoint_quorum_check(note, cosigners, need)
    except NoteError as e:
        raise LogVerifyError(f"{CHECKPOINT_PATH} cosignatures", str(e)) from None

    counter = TotalsCounter()
    for r in results:
        part = TotalsCounter()
        part.sums, part.counts = r.sums, r.counts
        counter.merge(part)
    kinds = counter.kinds()

    since_size = since_root = None
    if since_checkpoint is not None:
        try:
            old = checkpoint_open_any(since_checkpoint, keys, origin)
        except (NoteError, CheckpointError) as e:
            raise LogVerifyError("since checkpoint signature", str(e)) from None
        if old.size > size:
            raise LogVerifyError("since checkpoint", f"size {old.size} exceeds the log's {size}")
        if old.size:
            try:
                proof = consistency_proof(old.size, size, TileHashReader(reader, size, fetched))
                consistency_verify(old.size, size, old.root, cp.root, proof)
            except (ProofError, TileError) as e:
                raise LogVerifyError(
                    "since checkpoint", f"not consistent with the log: {e}"
                ) from None
        since_size, since_root = old.size, base64.b64encode(old.root).decode()

    return VerifyReport(
        origin=cp.origin,
        size=size,
        root=base64.b64encode(cp.root).decode(),
        hash_tiles=len(upper) + len(bundles),
        bundles=len(bundles),
        kinds=kinds,
        totals={
            c: {k: v for k, v in asdict(t).items() if k != "currency"}
            for c, t in counter.totals().items()
        },
        since_size=since_size,
        since_root=since_root,
        quorum=need,
        cosigned_by=[c.name for c in cosigned],
        witnesses=[c.vkey for c in cosigners],
    )
