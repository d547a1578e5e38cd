"""Static tile layout of c2sp.org/tlog-tiles: hash tiles, entry bundles, their paths and storage.

A hash tile at level L, index N holds up to 256 hashes of tree level 8·L, indices 256·N onwards
("tile/<L>/<N>[.p/<W>]"); an entry bundle holds the same entries' data, each a big-endian uint16
length and the bytes ("tile/entries/<N>[.p/<W>]"). Tiles are written before the checkpoint that
covers them; a crash in between leaves the old checkpoint valid, and appending the same entries
again from the old size rewrites byte-identical files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from solidarity.core.tlog.hashing import (
    HASH_SIZE,
    TreeHead,
    leaf_row,
    row_parent,
    row_root,
    tree_root,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
TILE_BYTES = TILE_WIDTH * HASH_SIZE
ENTRIES = -1
"""The level value that names an entry bundle instead of a hash tile."""
MAX_ENTRY_SIZE = 0xFFFF

_LENGTH_PREFIX = [i.to_bytes(2, "big") for i in range(MAX_ENTRY_SIZE + 1)]
_PATH_RE = re.compile(
    r"tile/(entries|0|[1-9][0-9]*)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]*))?"
)


class TileError(Exception):
    """A tile or bundle is missing, malformed or conflicts with one already stored."""


class TileConflictError(TileError):
    """write_once was asked to replace a stored path with different bytes."""


class TileMissingError(TileError):
    """A tile or bundle the tree size requires is absent."""


@dataclass(frozen=True)
class Tile:
    """One tile: level (ENTRIES for a bundle), index N, width W in 1..256."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)

    @property
    def start(self) -> int:
        """The index, at tree level 8·level (0 for bundles), of the first hash or entry held."""
        return self.index * TILE_WIDTH


def _index_path(n: int) -> str:
    digits = f"{n:03d}"
    pad = -len(digits) % 3
    digits = "0" * pad + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """tlog-tiles path of a hash tile (level ≥ 0) or entry bundle (level ENTRIES)."""
    if not 1 <= width <= TILE_WIDTH or index < 0 or level < ENTRIES:
        raise ValueError(f"no tile ({level}, {index}, {width})")
    name = "entries" if level == ENTRIES else str(level)
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{name}/{_index_path(index)}{suffix}"


def tile_parse(path: str) -> Tile:
    """The tile named by a canonical tlog-tiles path; non-canonical spellings are refused."""
    m = _PATH_RE.fullmatch(path)
    if not m:
        raise ValueError(f"not a tile path: {path!r}")
    level = ENTRIES if m[1] == "entries" else int(m[1])
    index = int(m[2].replace("x", "").replace("/", ""))
    width = int(m[3]) if m[3] else TILE_WIDTH
    tile = Tile(level, index, width)
    if width > TILE_WIDTH or tile.path != path:
        raise ValueError(f"not a canonical tile path: {path!r}")
    return tile


def tiles_for_size(size: int) -> list[Tile]:
    """Every hash tile of a tree of size leaves, level by level; a level's last may be partial."""
    tiles: list[Tile] = []
    level, count = 0, size
    while count:
        tiles.extend(_row_tiles(level, 0, count))
        level, count = level + 1, count >> TILE_HEIGHT
    return tiles


def bundles_for_size(size: int) -> list[Tile]:
    """Every entry bundle of a log of size entries."""
    return _row_tiles(ENTRIES, 0, size)


def _row_tiles(level: int, old: int, new: int) -> list[Tile]:
    """Tiles of one level holding any of the hashes old..new-1, at their width for count new."""
    first, end = old >> TILE_HEIGHT, -(-new >> TILE_HEIGHT)
    return [Tile(level, t, min(TILE_WIDTH, new - t * TILE_WIDTH)) for t in range(first, end)]


def bundle_encode(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    lp = _LENGTH_PREFIX
    try:
        return b"".join([x for e in entries for x in (lp[len(e)], e)])
    except IndexError:
        raise ValueError(f"an entry is longer than {MAX_ENTRY_SIZE} bytes") from None


def bundle_decode(data: bytes, count: int | None = None) -> list[bytes]:
    """The entries of a bundle; with count, exactly that many entries must be present."""
    out: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise ValueError(f"truncated length at byte {pos}")
        n = (data[pos] << 8) | data[pos + 1]
        pos += 2
        if pos + n > end:
            raise ValueError(f"entry {len(out)} runs past the end of the bundle")
        out.append(data[pos : pos + n])
        pos += n
    if count is not None and len(out) != count:
        raise ValueError(f"bundle holds {len(out)} entries, expected {count}")
    return out


class TileReader(Protocol):
    """Read access to a log's files by tlog-tiles path ("checkpoint", "tile/0/000", ...)."""

    def read(self, path: str) -> bytes | None:
        """The stored bytes, or None when the path is absent."""
        ...


class TileStore(TileReader, Protocol):
    """Storage for a log's files. Tiles and bundles are immutable once written."""

    def write_once(self, path: str, data: bytes) -> None:
        """Store data at path: a no-op if identical bytes are stored, TileConflictError if others.

        When write_once returns, the bytes are durable.
        """
        ...

    def write_once_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """write_once for each item; durable on return. A failure may leave any subset written."""
        ...

    def replace(self, path: str, data: bytes) -> None:
        """Atomically store data at path (the checkpoint), durable on return."""
        ...

    def replace_if(self, path: str, data: bytes, expected: bytes | None) -> None:
        """replace, only if path holds exactly `expected` (None: is absent); else
        TileConflictError and nothing changes. The compare-and-set that keeps two writers
        who both believe they hold the log's lock from publishing two checkpoints of one size.
        """
        ...


class MemoryTileStore:
    """A TileStore in a dict, for tests and for building a log to export."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def write_once(self, path: str, data: bytes) -> None:
        old = self.files.get(path)
        if old is None:
            self.files[path] = bytes(data)
        elif old != data:
            raise TileConflictError(f"{path}: refusing to overwrite with different bytes")

    def write_once_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        for path, data in items:
            self.write_once(path, data)

    def replace(self, path: str, data: bytes) -> None:
        self.files[path] = bytes(data)

    def replace_if(self, path: str, data: bytes, expected: bytes | None) -> None:
        if self.files.get(path) != expected:
            raise TileConflictError(f"{path}: changed by another writer; not replaced")
        self.replace(path, data)


class RowCache(Protocol):
    """Tiles' rows of complete subtrees kept across readers, keyed by tile path (one per log).

    A tile path names immutable bytes, so an entry never goes stale; `get` and `put` must be
    safe to call from every thread that shares the cache (`solidarity.infra.tilestore.TileCache`).
    """

    def get(self, path: str) -> tuple[bytes, ...] | None:
        """The rows stored for `path`, or None."""
        ...

    def put(self, path: str, rows: tuple[bytes, ...]) -> None:
        """Keep `rows` for `path` (the cache may drop them later)."""
        ...


def tile_rows(data: bytes) -> tuple[bytes, ...]:
    """A tile's rows of complete subtree hashes: level 0 (the tile) up to its top level."""
    rows = [data]
    row = data
    while len(row) >= 2 * HASH_SIZE:
        row = row_parent(row[: len(row) // (2 * HASH_SIZE) * 2 * HASH_SIZE])
        rows.append(row)
    return tuple(rows)


class TileHashReader:
    """A HashReader answering from the hash tiles of a tree of a given size.

    Tiles are fetched once per reader; cache may hold tiles already in memory, keyed by path;
    shared, a RowCache of the same log kept across readers (servers answering many proofs).
    Raises TileMissingError or TileError when a tile is absent or has the wrong length.
    """

    def __init__(
        self,
        reader: TileReader,
        size: int,
        cache: Mapping[str, bytes] | None = None,
        *,
        shared: RowCache | None = None,
    ):
        self.reader = reader
        self.size = size
        self._tiles: dict[str, bytes] = dict(cache or {})
        self._shared = shared

    def tile(self, level: int, index: int) -> bytes:
        """The bytes of hash tile (level, index) at this tree size."""
        count = self.size >> (TILE_HEIGHT * level)
        width = min(TILE_WIDTH, count - index * TILE_WIDTH)
        if width <= 0:
            raise TileMissingError(f"tile ({level}, {index}) is beyond tree size {self.size}")
        path = tile_path(level, index, width)
        data = self._tiles.get(path)
        if data is None:
            data = self.reader.read(path)
            if data is None:
                raise TileMissingError(f"{path}: missing")
            if len(data) != width * HASH_SIZE:
                raise TileError(f"{path}: {len(data)} bytes, expected {width * HASH_SIZE}")
            self._tiles[path] = data
        return data

    def _rows(self, level: int, index: int) -> tuple[bytes, ...]:
        shared = self._shared
        assert shared is not None
        count = self.size >> (TILE_HEIGHT * level)
        width = min(TILE_WIDTH, count - index * TILE_WIDTH)
        path = tile_path(level, index, width) if width > 0 else ""
        rows = shared.get(path) if path else None
        if rows is None:
            rows = tile_rows(self.tile(level, index))
            shared.put(path, rows)
        return rows

    def __call__(self, level: int, index: int) -> bytes:
        tl, r = divmod(level, TILE_HEIGHT)
        start = index << r
        if (start + (1 << r)) << (TILE_HEIGHT * tl) > self.size:
            raise ValueError(f"subtree ({level}, {index}) is not complete at size {self.size}")
        if self._shared is not None:
            off = ((start & (TILE_WIDTH - 1)) >> r) * HASH_SIZE
            return self._rows(tl, start >> TILE_HEIGHT)[r][off : off + HASH_SIZE]
        data = self.tile(tl, start >> TILE_HEIGHT)
        off = (start & (TILE_WIDTH - 1)) * HASH_SIZE
        row = data[off : off + (HASH_SIZE << r)]
        for _ in range(r):
            row = row_parent(row)
        return row


class TileWriter:
    """Appends entries to a tiled log of a known size, writing its bundles and hash tiles.

    The caller must publish a checkpoint only after append returns. After a crash, append the
    same entries again from the size of the last checkpoint: every file written before the crash
    is rewritten byte for byte. Different entries at an index already written raise
    TileConflictError.
    """

    def __init__(self, store: TileStore, size: int) -> None:
        if size < 0:
            raise ValueError("negative tree size")
        self.store = store
        self.size = size

    def append(self, entries: Sequence[bytes]) -> TreeHead:
        """Write the files of size + len(entries) entries and return the new tree head."""
        old, new = self.size, self.size + len(entries)
        writes: dict[str, bytes] = {}
        if entries:
            self._bundles(entries, old, new, writes)
            self._hashes(leaf_row(entries), old, new, writes)
            self.store.write_once_many(list(writes.items()))
        root = tree_root(new, TileHashReader(self.store, new, writes))
        self.size = new
        return TreeHead(new, root)

    def append_leaf_hashes(self, row: bytes) -> TreeHead:
        """Write hash tiles only, from a row of leaf hashes: synthetic trees for benchmarks."""
        if len(row) % HASH_SIZE:
            raise ValueError("row length is not a multiple of 32")
        old, new = self.size, self.size + len(row) // HASH_SIZE
        writes: dict[str, bytes] = {}
        if new > old:
            self._hashes(row, old, new, writes)
            self.store.write_once_many(list(writes.items()))
        root = tree_root(new, TileHashReader(self.store, new, writes))
        self.size = new
        return TreeHead(new, root)

    def _prefix(self, level: int, count: int) -> bytes:
        width = count % TILE_WIDTH
        if not width:
            return b""
        path = tile_path(level, count >> TILE_HEIGHT, width)
        data = self.store.read(path)
        if data is None:
            raise TileMissingError(f"{path}: missing, the store does not hold size {self.size}")
        return data

    def _bundles(self, entries: Sequence[bytes], old: int, new: int, out: dict[str, bytes]) -> None:
        prefix = self._prefix(ENTRIES, old)
        if prefix:
            bundle_decode(prefix, old % TILE_WIDTH)
        for t in _row_tiles(ENTRIES, old, new):
            lo = max(old, t.start) - old
            hi = min(new, t.start + TILE_WIDTH) - old
            data = bundle_encode(entries[lo:hi])
            out[t.path] = prefix + data if t.start < old else data

    def _hashes(self, added: bytes, old: int, new: int, out: dict[str, bytes]) -> None:
        level = 0
        while True:
            row = self._prefix(level, old) + added
            first = old >> TILE_HEIGHT
            for t in _row_tiles(level, old, new):
                off = (t.index - first) * TILE_BYTES
                out[t.path] = row[off : off + t.width * HASH_SIZE]
            full_end = (new >> TILE_HEIGHT) - first
            added = b"".join(
                [row_root(row[i * TILE_BYTES : (i + 1) * TILE_BYTES]) for i in range(full_end)]
            )
            old, new, level = old >> TILE_HEIGHT, new >> TILE_HEIGHT, level + 1
            if old == new:
                return
