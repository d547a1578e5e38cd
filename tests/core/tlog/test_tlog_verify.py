"""The auditor's verifier on an exported log: success, totals, tampering, consistency, HTTP."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from solidarity.core.tlog.note import Signer, key_generate
from solidarity.core.tlog.sequencer import log_append
from solidarity.core.tlog.tiles import (
    MemoryTileStore,
    TileWriter,
    bundle_decode,
    bundle_encode,
    bundles_for_size,
    tiles_for_size,
)
from solidarity.core.tlog.verify import LogVerifyError, log_verify
from solidarity.infra.logreaders import source_open
from solidarity.infra.tilestore import DirectoryTileStore

from .conftest import ORIGIN, donation_entries

SIZE = 600


@pytest.fixture
def log_dir(tmp_path: Path, signer: Signer) -> Path:
    store = DirectoryTileStore(tmp_path / "log", durable=False)
    entries = donation_entries(SIZE)
    log_append(store, signer=signer, origin=ORIGIN, entries=entries[:333])
    (tmp_path / "old-checkpoint").write_bytes(store.read("checkpoint") or b"")
    log_append(store, signer=signer, origin=ORIGIN, entries=entries[333:])
    return tmp_path / "log"


def test_verify_reports_totals(log_dir: Path, signer: Signer) -> None:
    report = log_verify(source_open(log_dir), signer.verifier.vkey)
    assert report.size == SIZE
    assert report.kinds == {"donation": 564, "disbursement": 24, "reversal": 12}
    vnd = report.totals["VND"]
    assert vnd["raised"] - vnd["disbursed"] == vnd["balance"]
    json.dumps(report.as_dict())


def test_verify_with_workers_agrees(log_dir: Path, signer: Signer) -> None:
    assert log_verify(source_open(log_dir), signer.verifier, workers=2) == log_verify(
        source_open(log_dir), signer.verifier
    )


def files_of(size: int) -> list[str]:
    """The files a tree of this size is made of (older partial tiles are not part of it)."""
    return ["checkpoint", *(t.path for t in tiles_for_size(size) + bundles_for_size(size))]


def test_every_flipped_byte_is_named(log_dir: Path, signer: Signer) -> None:
    for name in files_of(SIZE):
        path = log_dir / name
        original = path.read_bytes()
        for pos in {0, len(original) // 2, len(original) - 2}:
            tampered = bytearray(original)
            tampered[pos] ^= 0x01
            path.write_bytes(bytes(tampered))
            with pytest.raises(LogVerifyError) as info:
                log_verify(source_open(log_dir), signer.verifier)
            where = str(info.value)
            assert name in where, (name, pos, where)
        path.write_bytes(original)
    log_verify(source_open(log_dir), signer.verifier)


def test_dropped_entry_is_named(log_dir: Path, signer: Signer) -> None:
    path = log_dir / "tile" / "entries" / "001"
    entries = bundle_decode(path.read_bytes())
    path.write_bytes(bundle_encode(entries[:10] + entries[11:]))
    with pytest.raises(LogVerifyError, match=r"tile/entries/001.*255 entries"):
        log_verify(source_open(log_dir), signer.verifier)


def test_reordered_entries_are_named(log_dir: Path, signer: Signer) -> None:
    path = log_dir / "tile" / "entries" / "001"
    entries = bundle_decode(path.read_bytes())
    entries[3], entries[4] = entries[4], entries[3]
    path.write_bytes(bundle_encode(entries))
    with pytest.raises(LogVerifyError, match="entry 259"):
        log_verify(source_open(log_dir), signer.verifier)


def test_rebuilt_log_without_an_entry_fails_the_checkpoint(tmp_path: Path, signer: Signer) -> None:
    # Given: an operator rebuilds every tile without entry 5 but cannot re-sign.
    entries = donation_entries(300)
    honest = MemoryTileStore()
    log_append(honest, signer=signer, origin=ORIGIN, entries=entries)
    forged = DirectoryTileStore(tmp_path, durable=False)
    TileWriter(forged, 0).append(entries[:5] + entries[6:] + entries[:1])
    forged.replace("checkpoint", honest.files["checkpoint"])
    with pytest.raises(LogVerifyError, match="checkpoint: root does not match"):
        log_verify(source_open(tmp_path), signer.verifier)


def test_invalid_entry_is_named(tmp_path: Path, signer: Signer) -> None:
    store = DirectoryTileStore(tmp_path, durable=False)
    bad = b'{"amount":-1,"at":"2024-01-01T00:00:00Z","campaign":"c","currency":"VND",'
    bad += b'"kind":"donation"}'
    log_append(store, signer=signer, origin=ORIGIN, entries=[*donation_entries(3), bad])
    with pytest.raises(LogVerifyError, match=r"entry 3 .*amount"):
        log_verify(source_open(tmp_path), signer.verifier)


def test_wrong_key_and_origin(log_dir: Path, signer: Signer) -> None:
    with pytest.raises(LogVerifyError, match="checkpoint signature"):
        log_verify(source_open(log_dir), key_generate(ORIGIN)[1])
    with pytest.raises(LogVerifyError, match="origin"):
        log_verify(source_open(log_dir), signer.verifier, origin="other.example/log")


def test_since_checkpoint_consistency(log_dir: Path, signer: Signer) -> None:
    old = (log_dir.parent / "old-checkpoint").read_bytes()
    report = log_verify(source_open(log_dir), signer.verifier, since_checkpoint=old)
    assert report.since_size == 333
    # A checkpoint from a forked log of the same key is not consistent.
    fork = MemoryTileStore()
    log_append(fork, signer=signer, origin=ORIGIN, entries=donation_entries(334)[1:])
    with pytest.raises(LogVerifyError, match="since checkpoint"):
        log_verify(source_open(log_dir), signer.verifier, since_checkpoint=fork.files["checkpoint"])


@pytest.fixture
def http_base(log_dir: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
            pass

    handler = functools.partial(Quiet, directory=str(log_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_verify_over_http(http_base: str, signer: Signer) -> None:
    assert log_verify(source_open(http_base), signer.verifier).size == SIZE
