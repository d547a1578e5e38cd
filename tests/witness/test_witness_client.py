"""A log gathering cosignatures from three real witnesses on loopback: in parallel, catching
up a witness that is behind, and not held up by one that is down."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from solidarity.core.tlog.cosignature import cosigner_parse
from solidarity.witness.client import WitnessEndpoint, cosignatures_gather
from solidarity.witness.server import WitnessServer
from solidarity.witness.store import WitnessStore, witness_init

from .helpers import MemoryLog, note_body, spec_cosignature_check


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    log.append(*(f"gift {i}".encode() for i in range(100)))
    return log


@pytest.fixture
def witnesses(tmp_path: Path, log: MemoryLog):
    servers = []
    for i in range(3):
        vkey = witness_init(tmp_path / f"w{i}", f"w{i}.example.org")
        store = WitnessStore(tmp_path / f"w{i}", [log.signer.verifier])
        server = WitnessServer(store, "127.0.0.1", 0)
        server.serve_in_thread()
        server.vkey = vkey  # type: ignore[attr-defined]
        servers.append(server)
    yield servers
    for s in servers:
        s.shutdown()
        s.server_close()
        s.store.close()


def endpoint(server: WitnessServer) -> WitnessEndpoint:
    return WitnessEndpoint(
        cosigner_parse(server.vkey), f"http://127.0.0.1:{server.server_address[1]}"
    )


def proof_source(log: MemoryLog):
    return log.proof


def test_all_three_cosign_and_a_behind_witness_is_caught_up(witnesses, log):
    eps = [endpoint(s) for s in witnesses]
    # Given w0 saw the log at 100 and the others never did
    first = cosignatures_gather(log.checkpoint(), eps[:1], proof_source(log))
    assert len(first.cosignatures) == 1
    # When the log grows and asks all three, knowing nothing of their sizes
    log.append(*(f"gift {i}".encode() for i in range(100, 1000)))
    got = cosignatures_gather(log.checkpoint(), eps, proof_source(log))
    # Then all three cosign; w0 was caught up from 100 with a consistency proof
    assert [o.error for o in got.outcomes] == [None, None, None]
    assert [o.attempts for o in got.outcomes] == [2, 1, 1]
    body = note_body(log.checkpoint())
    for s, c in zip(witnesses, got.cosignatures, strict=True):
        spec_cosignature_check(s.vkey, body, c.line.encode())


def test_one_of_three_down_still_gives_two_within_the_timeout(witnesses, log):
    # A witness that accepts connections and never answers (a hung host)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    down = WitnessEndpoint(
        cosigner_parse(witnesses[2].vkey), f"http://127.0.0.1:{hole.getsockname()[1]}"
    )
    eps = [endpoint(witnesses[0]), endpoint(witnesses[1]), down]
    got = cosignatures_gather(log.checkpoint(), eps, proof_source(log), timeout=1.0, retries=5)
    hole.close()
    assert len(got.cosignatures) == 2
    assert got.outcomes[2].cosignature is None
    assert "timed out" in (got.outcomes[2].error or "")


def test_a_refused_port_is_retried_then_reported(witnesses, log):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    dead = WitnessEndpoint(cosigner_parse(witnesses[0].vkey), f"http://127.0.0.1:{port}")
    got = cosignatures_gather(log.checkpoint(), [dead], proof_source(log), retries=2)
    assert got.outcomes[0].attempts == 3
    assert got.outcomes[0].error.startswith("unreachable")


def test_a_witness_ahead_of_the_log_is_reported_not_argued_with(witnesses, log):
    ep = endpoint(witnesses[0])
    longer = log.fork()
    longer.append(b"one more")
    assert cosignatures_gather(longer.checkpoint(), [ep], proof_source(longer)).cosignatures
    got = cosignatures_gather(log.checkpoint(), [ep], proof_source(log))
    assert got.cosignatures == []
    assert "above ours" in got.outcomes[0].error


def test_a_cosignature_by_the_wrong_key_is_not_counted(witnesses, log):
    # The URL of w0 listed with w1's key: w0 answers, but not with the key the log expects.
    wrong = WitnessEndpoint(cosigner_parse(witnesses[1].vkey), endpoint(witnesses[0]).url)
    got = cosignatures_gather(log.checkpoint(), [wrong], proof_source(log))
    assert got.cosignatures == []
    assert got.outcomes[0].error == "answered without a cosignature by its key"


def test_parallel_requests_from_two_threads_never_roll_a_witness_back(witnesses, log):
    ep = endpoint(witnesses[0])
    logs = []
    for n in range(100, 400, 10):
        log.append(*(f"x {n} {i}".encode() for i in range(10)))
        logs.append(log.checkpoint())
    sizes = [int(n.split(b"\n")[1]) for n in logs]

    cosigned: list[int] = []

    def run(notes):
        for note in notes:
            if cosignatures_gather(note, [ep], proof_source(log)).cosignatures:
                cosigned.append(int(note.split(b"\n")[1]))

    threads = [threading.Thread(target=run, args=(logs[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # (a request may lose its race and be refused as older than the witness's latest, or run
    # out of retries on a loaded machine; whichever were cosigned, the latest is their largest)
    assert cosigned and max(cosigned) in sizes
    assert witnesses[0].store.latest(log.signer.name).size == max(cosigned)
