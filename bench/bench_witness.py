"""Benchmark of witnessing: one witness's add-checkpoint, and a log gathering three.

Writes bench/results/witness.json. A synthetic 1.7-million-entry tree (hash tiles only) in
memory; witnesses are real `WitnessServer`s on loopback with their records on disk (fsync,
atomic rename, as in production). Measured, `--requests` times each:

- add_checkpoint: one HTTP request to one witness: the log grew by `--step` entries, the
  request carries the consistency proof from the witness's size; the answer is verified.
- gather_3: `cosignatures_gather` to three witnesses in parallel (what the sequencer does per
  checkpoint), the consistency proofs read from the tiles.

    .venv/bin/python bench/bench_witness.py [--entries N] [--requests R] [--step S]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

from scratch import scratch_dir
from solidarity.core.tlog.checkpoint import Checkpoint, checkpoint_sign
from solidarity.core.tlog.cosignature import cosigner_parse, note_cosignatures
from solidarity.core.tlog.note import key_generate, signer_parse
from solidarity.core.tlog.proof import consistency_proof_from_tiles
from solidarity.core.tlog.tiles import MemoryTileStore, TileWriter
from solidarity.witness.client import WitnessEndpoint, add_checkpoint_body, cosignatures_gather
from solidarity.witness.server import WitnessServer
from solidarity.witness.store import WitnessStore, witness_init

RESULTS = Path(__file__).resolve().parent / "results" / "witness.json"
ORIGIN = "bench.solidarity.example/witnessed"


def leaf_row(lo: int, hi: int) -> bytes:
    return b"".join(hashlib.sha256(b"\x00e%d" % i).digest() for i in range(lo, hi))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_700_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--step", type=int, default=100)
    args = ap.parse_args()

    signer = signer_parse(key_generate(ORIGIN, b"\x42" * 32)[0])
    store = MemoryTileStore()
    writer = TileWriter(store, 0)
    t0 = time.perf_counter()
    head = writer.append_leaf_hashes(leaf_row(0, args.entries))
    build_s = time.perf_counter() - t0

    def grow() -> bytes:
        nonlocal head
        head = writer.append_leaf_hashes(leaf_row(head.size, head.size + args.step))
        return checkpoint_sign(Checkpoint(ORIGIN, head.size, head.root), signer)

    root = scratch_dir("witness-")
    servers = []
    try:
        for i in range(3):
            vkey = witness_init(root / f"w{i}", f"w{i}.bench.example")
            server = WitnessServer(WitnessStore(root / f"w{i}", [signer.verifier]), "127.0.0.1", 0)
            server.serve_in_thread()
            servers.append((server, cosigner_parse(vkey)))

        # One witness, one keep-alive connection, as a log would hold it.
        server, cosigner = servers[0]
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        old = 0
        one: list[float] = []
        for _ in range(args.requests + 1):
            note = grow()
            proof = consistency_proof_from_tiles(store, old, head.size) if old else []
            body = add_checkpoint_body(old, proof, note)
            t = time.perf_counter()
            conn.request("POST", "/add-checkpoint", body)
            r = conn.getresponse()
            answer = r.read()
            took = time.perf_counter() - t
            assert r.status == 200, answer
            assert note_cosignatures(note + answer, [cosigner])
            if old:
                one.append(took)  # the first request (old 0) carries no proof
            old = head.size
        conn.close()

        endpoints = [
            WitnessEndpoint(c, f"http://127.0.0.1:{s.server_address[1]}/") for s, c in servers
        ]
        known = {c.name: 0 for _, c in servers}
        three: list[float] = []
        for i in range(args.requests + 1):
            note = grow()
            t = time.perf_counter()
            got = cosignatures_gather(
                note,
                endpoints,
                lambda o, n: consistency_proof_from_tiles(store, o, n),
                known_sizes=known,
            )
            took = time.perf_counter() - t
            assert len(got.cosignatures) == 3, [o.error for o in got.outcomes]
            for o in got.outcomes:
                known[o.name] = o.known_size or 0
            if i:
                three.append(took)
    finally:
        for s, _ in servers:
            s.shutdown()
            s.server_close()
            s.store.close()
        shutil.rmtree(root, ignore_errors=True)

    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg": os.getloadavg(),
        },
        "entries": args.entries,
        "step": args.step,
        "requests": args.requests,
        "build_tree_s": round(build_s, 2),
        "add_checkpoint_ms": {
            "p50": round(statistics.median(one) * 1000, 2),
            "p99": round(pct(one, 99) * 1000, 2),
            "max": round(max(one) * 1000, 2),
        },
        "gather_3_ms": {
            "p50": round(statistics.median(three) * 1000, 2),
            "p99": round(pct(three, 99) * 1000, 2),
            "max": round(max(three) * 1000, 2),
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
