"""The witness's add-checkpoint (c2sp.org/tlog-witness) over real HTTP on loopback, with its
records on disk: each status code the spec gives, durable state, and evidence of forks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solidarity.core.tlog.note import key_generate, signer_parse, verifier_parse
from solidarity.witness.server import WitnessServer
from solidarity.witness.store import WitnessError, WitnessStore, witness_init

from .helpers import ORIGIN, MemoryLog, note_body, post, spec_cosignature_check


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    log.append(*(f"gift {i}".encode() for i in range(10)))
    return log


@pytest.fixture
def witness(tmp_path: Path, log: MemoryLog):
    vkey = witness_init(tmp_path / "w", "witness.example.org/w1")
    store = WitnessStore(tmp_path / "w", [log.signer.verifier])
    server = WitnessServer(store, "127.0.0.1", 0)
    server.serve_in_thread()
    server.vkey = vkey  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()
    store.close()


def port(server: WitnessServer) -> int:
    return int(server.server_address[1])


def test_first_checkpoint_is_cosigned_and_verifies_by_the_spec(witness, log):
    status, ctype, body = post(port(witness), log.body(0))
    assert status == 200, body
    assert ctype.startswith("text/plain")
    ts = spec_cosignature_check(witness.vkey, note_body(log.checkpoint()), body)
    assert ts > 1_700_000_000


def test_growth_with_a_consistency_proof_is_cosigned(witness, log):
    assert post(port(witness), log.body(0))[0] == 200
    log.append(*(f"gift {i}".encode() for i in range(10, 300)))
    status, _, body = post(port(witness), log.body(10))
    assert status == 200, body
    spec_cosignature_check(witness.vkey, note_body(log.checkpoint()), body)
    # The same checkpoint again (old = size, same root) is cosigned again.
    assert post(port(witness), log.body(300))[0] == 200


def test_a_stale_old_size_gets_409_with_the_latest_size(witness, log):
    assert post(port(witness), log.body(0))[0] == 200
    log.append(b"gift 10", b"gift 11")
    status, ctype, body = post(port(witness), log.body(5))
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"10\n")


def test_a_bad_consistency_proof_gets_422_and_nothing_changes(witness, log, tmp_path):
    assert post(port(witness), log.body(0))[0] == 200
    log.append(b"gift 10", b"gift 11", b"gift 12")
    good = log.body(10)
    lines = good.split(b"\n")
    lines[1] = lines[2]  # a proof hash replaced by another
    status, _, _ = post(port(witness), b"\n".join(lines))
    assert status == 422
    assert witness.store.latest(ORIGIN).size == 10
    assert post(port(witness), good)[0] == 200


def test_unknown_origin_404_and_unknown_key_403(witness, log, tmp_path):
    stranger = MemoryLog(signer_parse(key_generate("other.example/log", b"\x05" * 32)[0]))
    stranger.append(b"x")
    assert post(port(witness), stranger.body(0))[0] == 404
    # The right origin signed by another key with the same name.
    impostor = MemoryLog(signer_parse(key_generate(ORIGIN, b"\x06" * 32)[0]))
    impostor.append(b"x")
    assert post(port(witness), impostor.body(0))[0] == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old 01\n\n",
        b"old -1\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\nAAAA\n\n",
        b"old 0\n\nnot a checkpoint",
        b"old 0\n\n\xff\xfe\n\n",
        b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n",
    ],
)
def test_malformed_requests_get_400(witness, body):
    status, _, answer = post(port(witness), body)
    assert status == 400, answer
    assert answer.endswith(b"\n")


def test_old_size_above_the_checkpoint_and_a_proof_from_zero_get_400(witness, log):
    assert post(port(witness), log.body(0).replace(b"old 0", b"old 11"))[0] == 400
    proof_line = b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    assert post(port(witness), log.body(0).replace(b"old 0\n", b"old 0\n" + proof_line))[0] == 400


def test_other_paths_and_oversized_bodies(witness):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port(witness), timeout=5)
    conn.request("POST", "/elsewhere", b"x")
    assert conn.getresponse().status == 404
    conn.close()
    assert post(port(witness), b"x" * (64 * 1024 + 1))[0] == 413
    conn = http.client.HTTPConnection("127.0.0.1", port(witness), timeout=5)
    conn.request("GET", "/")
    r = conn.getresponse()
    assert (r.status, r.read().strip().decode()) == (200, witness.vkey)
    conn.close()


def test_keep_alive_serves_many_requests_on_one_connection(witness, log):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port(witness), timeout=5)
    old = 0
    for i in range(20):
        log.append(f"more {i}".encode())
        conn.request("POST", "/add-checkpoint", log.body(old))
        r = conn.getresponse()
        assert r.status == 200, r.read()
        r.read()
        old = log.size
    conn.close()


def test_a_fork_of_the_same_size_is_refused_and_kept_as_evidence(witness, log, tmp_path):
    # Given the witness cosigned the log at size 12
    fork = log.fork()
    log.append(b"gift 10: 500000 VND", b"gift 11")
    fork.append(b"gift 10: 5 VND", b"gift 11")
    assert post(port(witness), log.body(0))[0] == 200
    # When the log shows it another checkpoint of size 12 (claiming either old size)
    assert post(port(witness), fork.body(12)) == (409, "text/x.tlog.size", b"12\n")
    assert post(port(witness), fork.body(0)) == (409, "text/x.tlog.size", b"12\n")
    # Then both signed checkpoints are kept, and `solidarity witness evidence` prints them
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "solidarity.cli",
            "witness",
            "evidence",
            "--dir",
            str(tmp_path / "w"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    records = json.loads(out.stdout)
    assert len(records) == 2
    for r in records:
        assert r["cosigned"] == log.checkpoint().decode()
        assert r["refused"] == fork.checkpoint().decode()
        assert "size 12" in r["reason"]
    # Each of the two is signed by the log's key: the evidence is checkable by anyone.
    from solidarity.core.tlog.checkpoint import checkpoint_open

    a = checkpoint_open(records[0]["cosigned"], verifier_parse(log.signer.verifier.vkey))
    b = checkpoint_open(records[0]["refused"], verifier_parse(log.signer.verifier.vkey))
    assert a.size == b.size and a.root != b.root
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "solidarity.cli",
            "witness",
            "evidence",
            "--dir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "two checkpoints of size 12 with different roots" in text
    assert fork.checkpoint().decode() in text


def test_a_fork_shown_after_growth_fails_its_proof_and_is_kept(witness, log, tmp_path):
    # Given the witness cosigned the log at size 10
    assert post(port(witness), log.body(0))[0] == 200
    # When a history that differs from entry 5 on, grown to 12, is shown with its own proof
    fork = MemoryLog(log.signer)
    fork.append(*(f"gift {i}".encode() for i in range(5)))
    fork.append(*(f"rewritten {i}".encode() for i in range(5, 12)))
    status, _, answer = post(port(witness), fork.body(10))
    # Then it is refused as inconsistent, kept, and the witness still stands at 10
    assert status == 422, answer
    assert witness.store.latest(ORIGIN).size == 10
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "w" / "evidence").iterdir()]
    assert record["refused"] == fork.checkpoint().decode()
    assert "no consistency from size 10" in record["reason"]


def test_state_survives_a_restart_and_a_second_process_is_refused(tmp_path, log):
    witness_init(tmp_path / "w", "w1.example")
    store = WitnessStore(tmp_path / "w", [log.signer.verifier])
    assert store.add_checkpoint(log.body(0)).status == 200
    with pytest.raises(WitnessError, match="another witness process"):
        WitnessStore(tmp_path / "w", [log.signer.verifier])
    store.close()
    again = WitnessStore(tmp_path / "w", [log.signer.verifier])
    assert again.latest(ORIGIN).size == 10
    assert again.add_checkpoint(log.body(0)).status == 409
    again.close()


def test_init_refuses_to_replace_a_key(tmp_path):
    witness_init(tmp_path / "w", "w1.example")
    key = (tmp_path / "w" / "witness.key").read_bytes()
    with pytest.raises(WitnessError, match="never replaced"):
        witness_init(tmp_path / "w", "w1.example")
    assert (tmp_path / "w" / "witness.key").read_bytes() == key
    assert (tmp_path / "w" / "witness.key").stat().st_mode & 0o077 == 0


def test_the_witness_runs_with_django_absent(tmp_path, log):
    script = (
        "import sys\n"
        "for banned in ('django', 'ninja'): sys.modules[banned] = None\n"
        "from solidarity.cli import main\n"
        f"code = main(['witness', 'init', 'w9.example', '--dir', {str(tmp_path / 'w')!r}])\n"
        "bad = [m for m in sys.modules if m.startswith(('solidarity.apps', 'solidarity.web'))]\n"
        "assert not bad, bad\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].startswith("w9.example+")
