"""`solidarity verify` against a verifier built on the Go reference packages, side by side.

Writes bench/results/verify_go.json. Builds a log of `--entries` donation entries (after
three `witness` announcements and a quorum of 2) in a scratch directory, cosigns its
checkpoint by the three witnesses, builds bench/goverify (golang.org/x/mod/sumdb/note and
sumdb/tlog) from Debian's golang-go and golang-golang-x-mod-dev offline (a GOPATH build:
GO111MODULE=off GOPATH=/usr/share/gocode), then runs, `--runs` times in turn, the Go verifier,
`solidarity verify` in one process and in `--workers` processes. Both check the checkpoint
signature and the quorum of cosignatures, every entry against the level-0 tiles, every tile
level, the root and the totals of every entry. Each run records wall seconds, CPU seconds
(user + system) and their quotient, the cores each verifier kept busy; `cpu_ratio_*` compares
the work done, which a loaded machine does not distort as it does wall time.

    apt-get install golang-go golang-golang-x-mod-dev
    .venv/bin/python bench/bench_verify_go.py [--entries N] [--runs R] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_tlog import make_entries
from scratch import scratch_dir
from solidarity.core.tlog.bodies import witness_body, witness_quorum_body
from solidarity.core.tlog.checkpoint import checkpoint_parse
from solidarity.core.tlog.cosignature import cosigner_key_generate, cosigner_signer_parse
from solidarity.core.tlog.entry import entry_encode
from solidarity.core.tlog.note import key_generate, note_split, signer_parse
from solidarity.core.tlog.sequencer import log_append
from solidarity.infra.tilestore import DirectoryTileStore

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "verify_go.json"
ORIGIN = "bench.solidarity.example/witnessed"
GOPATH = "/usr/share/gocode"


def build_log(root: Path, n: int) -> tuple[str, list[str]]:
    """The log's vkey and the three witnesses' vkeys; the log is written under root."""
    skey, vkey = key_generate(ORIGIN, b"\x24" * 32)
    signer = signer_parse(skey)
    witnesses = [
        cosigner_key_generate(f"w{i}.bench.example", bytes([i + 7]) * 32) for i in range(3)
    ]
    at = datetime(2025, 8, 25, 1, 0, tzinfo=UTC)
    head = [
        entry_encode(
            witness_body(
                campaign="bench",
                action="added",
                at=at,
                vkey=w[1],
                url=f"https://w{i}.bench.example/",
            )
        )
        for i, w in enumerate(witnesses)
    ]
    head.append(entry_encode(witness_quorum_body(campaign="bench", at=at, quorum=2)))
    store = DirectoryTileStore(root, durable=False)
    log_append(store, signer=signer, origin=ORIGIN, entries=head)
    entries = make_entries(n)
    chunk = 1 << 18
    for lo in range(0, n, chunk):
        log_append(store, signer=signer, origin=ORIGIN, entries=entries[lo : lo + chunk])
    del entries
    note = (root / "checkpoint").read_text()
    text, _ = note_split(note)
    checkpoint_parse(text)
    ts = 1_767_000_000
    lines = [cosigner_signer_parse(w[0]).cosign(text, ts) for w in witnesses]
    (root / "checkpoint").write_text(note + "".join(lines))
    return vkey, [w[1] for w in witnesses]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, the process and its children) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    took = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {out.stdout}{out.stderr}")
    return took, cpu, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_700_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not shutil.which("go") or not (Path(GOPATH) / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        raise SystemExit("apt-get install golang-go golang-golang-x-mod-dev")

    root = scratch_dir("verify-go-")
    try:
        t = time.perf_counter()
        vkey, wkeys = build_log(root / "log", args.entries)
        build_s = time.perf_counter() - t
        exe = root / "goverify"
        env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOFLAGS": ""}
        subprocess.run(
            ["go", "build", "-o", str(exe), "."], cwd=HERE / "goverify", env=env, check=True
        )
        go_cmd = [str(exe), "-quorum", "2"]
        for w in wkeys:
            go_cmd += ["-witness", w]
        go_cmd += [str(root / "log"), vkey]
        py_cmd = [
            sys.executable,
            "-m",
            "solidarity.cli",
            "verify",
            str(root / "log"),
            "--vkey",
            vkey,
        ]
        runs = []
        load_before = os.getloadavg()
        for _ in range(args.runs):
            go_s, go_cpu, go_out = timed(go_cmd)
            py1_s, py1_cpu, py_out = timed(py_cmd)
            pyw_s, pyw_cpu, _ = timed([*py_cmd, "--workers", str(args.workers)])
            runs.append(
                {
                    "go_s": round(go_s, 3),
                    "python_1_s": round(py1_s, 3),
                    f"python_{args.workers}_s": round(pyw_s, 3),
                    "ratio_1": round(py1_s / go_s, 2),
                    f"ratio_{args.workers}": round(pyw_s / go_s, 2),
                    # CPU seconds over wall seconds: how many cores each kept busy on average
                    "go_cores": round(go_cpu / go_s, 2),
                    "python_1_cores": round(py1_cpu / py1_s, 2),
                    f"python_{args.workers}_cores": round(pyw_cpu / pyw_s, 2),
                    # CPU seconds against CPU seconds: the work done, whatever the load
                    "cpu_ratio_1": round(py1_cpu / go_cpu, 2),
                    f"cpu_ratio_{args.workers}": round(pyw_cpu / go_cpu, 2),
                    "go_cpu_s": round(go_cpu, 3),
                    "python_1_cpu_s": round(py1_cpu, 3),
                    f"python_{args.workers}_cpu_s": round(pyw_cpu, 3),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
        assert "cosigned by 3 of 3 witnesses" in py_out, py_out
        assert go_out.startswith("ok "), go_out
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "machine": {
            "python": platform.python_version(),
            "go": subprocess.run(
                ["go", "version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "cpus": os.cpu_count(),
            "load_avg_before": load_before,
            "load_avg": os.getloadavg(),
        },
        "cores": {
            "go": "the Go verifier is one process; its runtime may use every core (GOMAXPROCS "
            "defaults to the CPU count), its verification loop runs on one goroutine",
            "python_1": "solidarity verify: one process, one core",
            f"python_{args.workers}": f"solidarity verify --workers {args.workers}: bundles "
            f"checked in {args.workers} spawned processes",
        },
        **{
            f"median_{key}": round(statistics.median(r[key] for r in runs), 2)
            for key in (
                "ratio_1",
                f"ratio_{args.workers}",
                "cpu_ratio_1",
                f"cpu_ratio_{args.workers}",
            )
        },
        "entries": args.entries + 4,
        "build_log_s": round(build_s, 1),
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
