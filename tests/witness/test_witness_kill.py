"""The witness process SIGKILLed at random instants while two diverging histories of one log
ask it to cosign: after every restart it stands where it stood or further, and across the
whole run it never cosigned both histories past the point where they part."""

from __future__ import annotations

import http.client
import random
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from solidarity.witness.store import witness_init

from .helpers import MemoryLog, note_body, spec_cosignature_check

DIVERGE = 50


class WitnessProcess:
    """`solidarity witness serve` in a child process, restartable on the same directory."""

    def __init__(self, directory: Path, log_vkey: str) -> None:
        self.directory = directory
        self.log_vkey = log_vkey
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "solidarity.cli",
                "witness",
                "serve",
                "--dir",
                str(self.directory),
                "--port",
                "0",
                "--log",
                self.log_vkey,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert " on http://127.0.0.1:" in line, (line, self.proc.stderr.read() if not line else "")
        self.port = int(line.split(" on http://127.0.0.1:")[1].split("/")[0])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def post(port: int, body: bytes) -> tuple[int, bytes] | None:
    """(status, body), or None when the witness died under the request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/add-checkpoint", body)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@pytest.mark.slow
def test_killed_and_restarted_the_witness_never_cosigns_a_fork(tmp_path):
    # Given one log key with two histories that agree on the first DIVERGE entries
    rng = random.Random(19)
    honest = MemoryLog()
    honest.append(*(f"gift {i}".encode() for i in range(DIVERGE)))
    fork = honest.fork()
    views = {"honest": honest, "fork": fork}
    vkey = witness_init(tmp_path / "w", "w1.example")
    witness = WitnessProcess(tmp_path / "w", honest.signer.verifier.vkey)
    witness.start()
    lock = threading.Lock()
    cosigned: list[tuple[str, int, bytes]] = []  # (view, size, root)
    done = threading.Event()

    def client(name: str, seed: int) -> None:
        r = random.Random(seed)
        log = views[name]
        old = 0
        while not done.is_set():
            with lock:
                log.append(*(f"{name} {log.size + i}".encode() for i in range(r.randint(0, 3))))
                size, body, root = log.size, log.body(min(old, log.size)), log.root()
                cp_body = note_body(log.checkpoint())
            answer = post(witness.port, body)
            if answer is None:
                continue
            status, text = answer
            if status == 200:
                spec_cosignature_check(vkey, cp_body, text)
                with lock:
                    cosigned.append((name, size, root))
                old = size
            elif status == 409:
                old = int(text)
            # 422: this history cannot follow the witness; it keeps trying from its size.

    threads = [
        threading.Thread(target=client, args=(name, seed), daemon=True)
        for seed, name in enumerate(["honest", "fork", "honest", "fork"])
    ]
    for t in threads:
        t.start()
    # When the witness is killed at random instants, and once in the middle of a request
    stood = 0
    for round_ in range(8):
        done.wait(rng.uniform(0.05, 0.4))
        if round_ == 4:
            s = socket.create_connection(("127.0.0.1", witness.port))
            s.sendall(
                b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 400\r\n\r\nold "
            )
            witness.kill()
            s.close()
        else:
            witness.kill()
        with lock:
            stood = max([stood, *(size for _, size, _ in cosigned)])
        witness.start()
        # Then it stands at least where its last answered cosignature put it
        probe = MemoryLog(honest.signer)
        probe.append(b"probe")
        answer = post(witness.port, probe.body(0))
        assert answer is not None
        status, text = answer
        assert status == 409, text
        assert int(text) >= stood
    done.set()
    for t in threads:
        t.join(timeout=30)
    witness.stop()

    # And across the run it never cosigned both histories beyond the point where they part
    roots = {(name, size): views[name].root(size) for name, size, _ in cosigned}
    assert all(roots[(name, size)] == root for name, size, root in cosigned)
    past = {name for name, size, _ in cosigned if size > DIVERGE}
    assert len(cosigned) > 20
    assert len(past) <= 1, past
    by_size: dict[int, set[bytes]] = {}
    for _, size, root in cosigned:
        by_size.setdefault(size, set()).add(root)
    assert all(len(r) == 1 for r in by_size.values())
