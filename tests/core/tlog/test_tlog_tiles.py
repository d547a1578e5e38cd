"""c2sp.org/tlog-tiles: paths, bundles, the writer's bytes, batching and crash recovery."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidarity.core.tlog.checkpoint import checkpoint_open
from solidarity.core.tlog.note import Signer, verifier_parse
from solidarity.core.tlog.sequencer import log_append
from solidarity.core.tlog.tiles import (
    ENTRIES,
    MemoryTileStore,
    Tile,
    TileConflictError,
    TileWriter,
    bundle_decode,
    bundle_encode,
    bundles_for_size,
    tile_parse,
    tile_path,
    tiles_for_size,
)
from solidarity.core.tlog.verify import log_verify
from solidarity.infra.logreaders import source_open
from solidarity.infra.tilestore import DirectoryTileStore

from .conftest import ORIGIN, TILES_70000, donation_entries, entries_70000


def reference_files() -> dict[str, bytes]:
    return {
        p.relative_to(TILES_70000).as_posix(): p.read_bytes()
        for p in (TILES_70000 / "tile").rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, 256, "tile/0/000"),
        (0, 1234067, 256, "tile/0/x001/x234/067"),
        (1, 1, 17, "tile/1/001.p/17"),
        (ENTRIES, 273, 112, "tile/entries/273.p/112"),
        (3, 1000, 256, "tile/3/x001/000"),
    ],
)
def test_tile_path(level: int, index: int, width: int, path: str) -> None:
    assert tile_path(level, index, width) == path
    assert tile_parse(path) == Tile(level, index, width)


@pytest.mark.parametrize(
    "path",
    ["tile/0/0", "tile/0/x000/001", "tile/00/000", "tile/0/000.p/256", "tile/0/000.p/0", "x"],
)
def test_tile_parse_refuses_non_canonical(path: str) -> None:
    with pytest.raises(ValueError, match="tile path"):
        tile_parse(path)


def test_tiles_for_size_70000_are_the_spec_example() -> None:
    want = set(reference_files())
    got = {t.path for t in tiles_for_size(70000)} | {t.path for t in bundles_for_size(70000)}
    assert got == want
    assert {"tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"} <= got


def test_bundle_round_trip_and_errors() -> None:
    entries = [b"", b"a", b"x" * 300]
    data = bundle_encode(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert bundle_decode(data, 3) == entries
    with pytest.raises(ValueError, match="expected 2"):
        bundle_decode(data, 2)
    with pytest.raises(ValueError, match="past the end"):
        bundle_decode(data[:-1])
    with pytest.raises(ValueError, match="longer than"):
        bundle_encode([b"x" * 65536])


def test_writer_reproduces_tiles_70000(signer: Signer) -> None:
    # Given: the spec's 70,000 entries. When: sequenced in one batch with the test key.
    store = MemoryTileStore()
    cp = log_append(store, signer=signer, origin=ORIGIN, entries=entries_70000())
    # Then: every tile and bundle, and the checkpoint itself, are the reference bytes.
    checkpoint = store.files.pop("checkpoint")
    assert store.files == reference_files()
    assert checkpoint == (TILES_70000 / "checkpoint").read_bytes()
    vkey = verifier_parse((TILES_70000 / "vkey.txt").read_text())
    assert checkpoint_open(checkpoint, vkey) == cp


def test_reference_checkpoint_verifies_with_log_verify() -> None:
    report = log_verify(
        source_open(TILES_70000), (TILES_70000 / "vkey.txt").read_text(), check_entries=False
    )
    assert report.size == 70000


def write_in_batches(entries: Sequence[bytes], sizes: Sequence[int]) -> MemoryTileStore:
    store = MemoryTileStore()
    writer = TileWriter(store, 0)
    pos = 0
    for k in sizes:
        writer.append(entries[pos : pos + k])
        pos += k
    writer.append(entries[pos:])
    return store


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 700), max_size=12))
def test_batches_give_the_same_files(sizes: list[int]) -> None:
    entries = [f"e{i}".encode() for i in range(3000)]
    one = write_in_batches(entries, []).files
    many = write_in_batches(entries, sizes).files
    # Partial tiles of intermediate sizes remain; every file of the final size is identical.
    assert {p: many[p] for p in one} == one


class FailingStore(MemoryTileStore):
    """A store whose writes fail after a budget of k successful file writes."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget

    def write_once(self, path: str, data: bytes) -> None:
        if self.budget <= 0:
            raise OSError("disk gone")
        self.budget -= 1
        super().write_once(path, data)

    def replace(self, path: str, data: bytes) -> None:
        if self.budget <= 0:
            raise OSError("disk gone")
        self.budget -= 1
        super().replace(path, data)


@pytest.mark.parametrize("budget", [0, 1, 3, 5, 8, 9])
def test_crash_then_retry_ends_in_a_valid_log(signer: Signer, budget: int) -> None:
    entries = donation_entries(1500)
    store = FailingStore(10**9)
    log_append(store, signer=signer, origin=ORIGIN, entries=entries[:700])
    before = store.files["checkpoint"]
    # Given: a crash part-way through the second batch.
    store.budget = budget
    with pytest.raises(OSError, match="disk gone"):
        log_append(store, signer=signer, origin=ORIGIN, entries=entries[700:])
    assert store.files["checkpoint"] == before
    # When: the process restarts and sequences the same batch.
    store.budget = 10**9
    cp = log_append(store, signer=signer, origin=ORIGIN, entries=entries[700:])
    # Then: the log is the same as one written without a crash, and verifies.
    clean = MemoryTileStore()
    log_append(clean, signer=signer, origin=ORIGIN, entries=entries)
    assert {p: store.files[p] for p in clean.files} == clean.files
    assert cp.size == 1500
    assert log_verify(_Reader(store), signer.verifier).size == 1500


class _Reader:
    def __init__(self, store: MemoryTileStore) -> None:
        self.store = store

    def read(self, path: str) -> bytes | None:
        return self.store.read(path)


def test_different_entries_after_a_crash_are_refused() -> None:
    store = MemoryTileStore()
    TileWriter(store, 0).append([b"a"] * 300)
    with pytest.raises(TileConflictError):
        TileWriter(store, 0).append([b"b"] * 300)


def test_directory_store_write_once(tmp_path: Path) -> None:
    store = DirectoryTileStore(tmp_path)
    store.write_once("tile/0/000", b"x" * 32)
    store.write_once("tile/0/000", b"x" * 32)
    with pytest.raises(TileConflictError):
        store.write_once("tile/0/000", b"y" * 32)
    assert store.read("tile/0/000") == b"x" * 32
    assert store.read("tile/0/001") is None
    store.replace("checkpoint", b"1")
    store.replace("checkpoint", b"2")
    assert store.read("checkpoint") == b"2"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["0", "000", "checkpoint", "tile"]
    with pytest.raises(ValueError, match="bad store path"):
        store.read("../etc/passwd")


def test_directory_store_log_verifies(tmp_path: Path, signer: Signer) -> None:
    store = DirectoryTileStore(tmp_path)
    entries = donation_entries(600)
    for batch in (entries[:1], entries[1:300], entries[300:]):
        log_append(store, signer=signer, origin=ORIGIN, entries=batch)
    assert log_verify(source_open(tmp_path), signer.verifier).size == 600


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux-only")
def test_a_durable_batch_is_synced_once_per_filesystem_and_small_ones_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from solidarity.infra import tilestore as tiles

    assert tiles._syncfs is not None  # on Linux the libc call must be found
    calls: list[str] = []
    real_syncfs, real_fsync = tiles._syncfs, os.fsync

    def counting_syncfs(fd: int) -> int:
        calls.append("syncfs")
        return real_syncfs(fd)

    def counting_fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(tiles, "_syncfs", counting_syncfs)
    monkeypatch.setattr(tiles.os, "fsync", counting_fsync)
    store = DirectoryTileStore(tmp_path, durable=True)
    # A batch of many files: one syncfs for the files, then an fsync per directory (3)
    store.write_once_many([(f"tile/0/{i:03d}", bytes([i]) * 32) for i in range(40)])
    assert calls == ["syncfs", "fsync", "fsync", "fsync"]
    assert {p.name for p in (tmp_path / "tile" / "0").iterdir()} == {f"{i:03d}" for i in range(40)}
    # A single file (the checkpoint) is fsynced on its own, not the whole filesystem
    calls.clear()
    store.replace("checkpoint", b"note\n")
    assert "syncfs" not in calls and "fsync" in calls
