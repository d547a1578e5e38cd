"""Benchmark of the public site under load: campaign page and totals JSON against /healthz.

Writes bench/results/public.json.

`solidarity serve` (Granian) on a temporary SOLIDARITY_HOME with the demo campaign; `wrk`
(Debian package) on the same machine drives the campaign page and the totals JSON, and, as the
bare baseline in the same run, the static `/healthz`, for each server WORKERSxTHREADS in
`--configs`. Meanwhile `solidarity import` books a generated statement of `--import-rows` rows
(bench/gen_statement.py) into a second campaign on the same SOLIDARITY_HOME, at its default
`--nice 10`. Every number
carries `os.getloadavg()` and whether the import was still running. Target 3,000 req/s with
p99 < 50 ms. Statement search at scale: bench/bench_search.py.

    .venv/bin/python bench/bench_public.py [--demo-gifts N] [--seconds S] [--configs 2x4,3x8]
        [--import-rows N] [--connections C]
"""

# ruff: noqa: PLC0415 -- Django is configured per child process before its modules load
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from scratch import scratch_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "public.json"
SOL = str(Path(sys.executable).with_name("solidarity"))
SLUG = "cuba-2025"

FAMILY = ["NGUYỄN", "Nguyen", "TRẦN", "Tran", "LÊ", "PHẠM", "HUỲNH", "Hoang", "PHAN", "VŨ", "ĐỖ"]
MIDDLE = ["VĂN", "Thị", "THI", "Van", "MINH", "Ngọc", "ĐỨC", "GIA", "ANH", "HỮU", "THU"]
GIVEN = ["AN", "Bình", "CƯỜNG", "Dũng", "HÀ", "Lan", "LONG", "Mai", "NAM", "Thảo", "TRUNG", "Đào"]
MEMO = [
    "{n} ung ho Cuba",
    "Ủng hộ Cuba - {n}",
    "IBFT Ung ho nhan dan Cuba {n}",
    "CT nhanh 247 den: {n} chuyen tien CUBA",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk(url: str, seconds: int, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": round(rps, 1),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


IMPORT_BIN = "970436"  # Vietcombank, the account gen_statement.py writes statements for


def _import_start(env: dict[str, str], home: Path, rows: int) -> tuple[subprocess.Popen, float]:
    """`solidarity import` of a generated `rows`-row statement into a second campaign on the
    same SOLIDARITY_HOME (same database), running in the background during the load."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_statement import ACCOUNT, statement_write

    path = home / "statement.csv"
    statement_write(path, rows=rows, fmt="csv", seed=3)
    for argv in (
        ["campaign", "create", "--slug", "import-bench", "--code", "CUBA", "--name", "Vì Cuba",
         "--goal", "65000000000", "--days", "65", "--opens", "2025-08-14T00:00+07:00",
         "--account", f"{IMPORT_BIN}:{ACCOUNT}:HOI CHU THAP DO VIET NAM", "--keyword", "Cu Ba"],
        ["campaign", "open", "import-bench"],
    ):  # fmt: skip
        subprocess.run([SOL, *argv], env=env, check=True, capture_output=True)
    log = (home / "import.log").open("w")
    proc = subprocess.Popen([SOL, "import", str(path), "--json"], env=env, stdout=log, stderr=log)
    return proc, time.perf_counter()


def _serve(env: dict[str, str], workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [SOL, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def bench_load(args: argparse.Namespace) -> dict[str, object]:
    home = scratch_dir("bench-public-")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SOLIDARITY_HOME=str(home), SOLIDARITY_HTTPS="false")
    subprocess.run([SOL, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [SOL, "demo", "--gifts", str(args.demo_gifts)], env=env, check=True, capture_output=True
    )
    paths = {
        "healthz (baseline)": "/healthz",
        "campaign page": f"/vi/c/{SLUG}/",
        "totals json": f"/api/v1/campaigns/{SLUG}/totals",
    }
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    importer = None
    import_started = 0.0
    runs = []
    try:
        if args.import_rows:
            importer, import_started = _import_start(env, home, args.import_rows)
        for workers, threads in configs:
            server, base = _serve(env, workers, threads)
            try:
                for path in paths.values():  # warm caches (charts are cached per minute)
                    for _ in range(3):
                        urllib.request.urlopen(base + path, timeout=30).read()
                results = {}
                for name, path in paths.items():
                    running = importer is not None and importer.poll() is None
                    before = [round(x, 2) for x in os.getloadavg()]
                    r = _wrk(base + path, args.seconds, args.connections, args.wrk_threads)
                    r["loadavg"] = [before, [round(x, 2) for x in os.getloadavg()]]
                    r["import_running"] = running and importer.poll() is None
                    results[name] = r
            finally:
                server.terminate()
                server.wait(10)
            base_rps = results["healthz (baseline)"]["rps"]
            for r in results.values():
                r["ratio_to_baseline"] = round(r["rps"] / base_rps, 3)
            runs.append({"workers": workers, "threads": threads, "results": results})
            print(json.dumps(runs[-1]), flush=True)
        import_report: dict[str, object] = {"rows": args.import_rows}
        if importer is not None:
            still = importer.poll() is None
            import_report["finished_during_load"] = not still
            import_report["returncode"] = importer.returncode
            import_report["log_tail"] = (home / "import.log").read_text()[-300:]
            import_report["seconds_at_end_of_load"] = round(time.perf_counter() - import_started, 1)
    finally:
        if importer is not None and importer.poll() is None:
            importer.terminate()
            importer.wait(30)
        shutil.rmtree(home, ignore_errors=True)
    best = max(runs, key=lambda r: r["results"]["campaign page"]["rps"])
    return {
        "connections": args.connections,
        "wrk_threads": args.wrk_threads,
        "seconds": args.seconds,
        "demo_gifts": args.demo_gifts,
        "import_during_load": import_report,
        "best": {"workers": best["workers"], "threads": best["threads"]},
        "runs": runs,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--demo-gifts", type=int, default=50_000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument(
        "--configs", default="2x4,2x8,3x4,3x8", help="server WORKERSxTHREADS to try, in turn"
    )
    p.add_argument(
        "--import-rows", type=int, default=200_000, help="statement rows imported during the load"
    )
    args = p.parse_args()
    out: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        }
    }
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    out["load"] = bench_load(args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
