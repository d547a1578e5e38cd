"""The witness's journal of cosigned checkpoints: one flush per checkpoint, a torn last line
dropped (it was never acknowledged), damage anywhere else refused, compaction, and records of
the earlier one-file layout moved into journals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solidarity.witness import store as store_module
from solidarity.witness.store import WitnessError, WitnessStore, witness_init

from .helpers import ORIGIN, MemoryLog


def journal(directory: Path) -> Path:
    (path,) = (directory / "logs").glob("*.jsonl")
    return path


@pytest.fixture
def setup(tmp_path: Path):
    log = MemoryLog()
    log.append(*(f"gift {i}".encode() for i in range(10)))
    witness_init(tmp_path / "w", "witness.example.org/w1")
    return log, tmp_path / "w"


def grow(store: WitnessStore, log: MemoryLog, n: int) -> None:
    for _ in range(n):
        old = log.size
        log.append(f"gift {old}".encode())
        answer = store.add_checkpoint(log.body(old))
        assert answer.status == 200, answer.body


def test_each_cosigned_checkpoint_is_one_journal_line_and_survives_reopening(setup):
    log, d = setup
    store = WitnessStore(d, [log.signer.verifier])
    assert store.add_checkpoint(log.body(0)).status == 200
    grow(store, log, 5)
    store.close()
    assert len(journal(d).read_bytes().splitlines()) == 6
    reopened = WitnessStore(d, [log.signer.verifier])
    assert reopened.latest(ORIGIN).size == 15
    # Opening rewrote the journal to its latest record
    assert len(journal(d).read_bytes().splitlines()) == 1
    reopened.close()


def test_a_torn_last_line_is_dropped_and_damage_before_it_is_refused(setup):
    log, d = setup
    store = WitnessStore(d, [log.signer.verifier])
    assert store.add_checkpoint(log.body(0)).status == 200
    grow(store, log, 2)
    store.close()
    path = journal(d)
    whole = path.read_bytes()
    lines = whole.splitlines(keepends=True)
    # Given a crash in the middle of the last append: its line is cut short (or zero-filled)
    for torn in (lines[-1][:40], b"\0" * 50 + b"\n", lines[-1][:-3] + b"xx\n"):
        path.write_bytes(b"".join(lines[:-1]) + torn)
        reopened = WitnessStore(d, [log.signer.verifier])
        # Then the witness is back at the record before: that append was never acknowledged
        assert reopened.latest(ORIGIN).size == 11
        reopened.close()
        path.write_bytes(whole)
    # Given a damaged line that is not the last: the witness refuses to start
    path.write_bytes(lines[0] + b"garbage\n" + lines[-1])
    with pytest.raises(WitnessError, match="damaged"):
        WitnessStore(d, [log.signer.verifier])


def test_the_journal_is_rewritten_when_long(setup, monkeypatch):
    log, d = setup
    line = store_module._journal_line
    store = WitnessStore(d, [log.signer.verifier])
    assert store.add_checkpoint(log.body(0)).status == 200
    monkeypatch.setattr(store_module, "JOURNAL_COMPACT_BYTES", 3 * len(line(store.latest(ORIGIN))))
    grow(store, log, 6)
    assert len(journal(d).read_bytes().splitlines()) < 4
    assert store.latest(ORIGIN).size == 16
    store.close()
    reopened = WitnessStore(d, [log.signer.verifier])
    assert reopened.latest(ORIGIN).size == 16
    reopened.close()


def test_a_record_of_the_earlier_layout_is_moved_into_a_journal(setup):
    log, d = setup
    store = WitnessStore(d, [log.signer.verifier])
    assert store.add_checkpoint(log.body(0)).status == 200
    store.close()
    # Given the earlier layout: logs/<sha256(origin)> holding one JSON record
    path = journal(d)
    record, _, _ = path.read_bytes().partition(b"\t")
    legacy = path.with_suffix("")
    legacy.write_bytes(record)
    path.unlink()
    reopened = WitnessStore(d, [log.signer.verifier])
    assert reopened.latest(ORIGIN).size == 10
    assert not legacy.exists()
    assert json.loads(journal(d).read_bytes().partition(b"\t")[0])["size"] == 10
    grow(reopened, log, 1)
    reopened.close()
