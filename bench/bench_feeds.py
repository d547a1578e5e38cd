"""Signed SePay notifications at increasing rates against `solidarity serve` (Granian) on a
temporary SOLIDARITY_HOME, 127.0.0.1 only, with `/healthz` at the same rates as the baseline.

Per rate: p50/p99 acknowledgement latency, notifications booked (must equal sent), and the
time from acknowledgement to the signed checkpoint that covers the gift (p99; the k-th
acknowledged gift is taken as covered once the checkpoint's size reaches base + k, which
holds because gifts are sequenced in booking order). Result: bench/results/feeds.json.

    .venv/bin/python bench/bench_feeds.py [--rates 50,100,200,400] [--seconds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feeds_load import Install, get, notification, send

from scratch import scratch_tree

RESULTS = Path(__file__).parent / "results" / "feeds.json"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def checkpoint_size(port: int) -> int:
    status, body = get(port, "/log/cuba/checkpoint")
    if status != 200:
        return 0
    return int(body.decode().splitlines()[1])


def run(port: int, rate: int, seconds: float, first: int, *, health: bool) -> dict:
    """Open-loop: request i is due at start + i / rate; a bounded pool of 64 senders."""
    total = int(rate * seconds)
    local = threading.local()
    latencies: list[float] = []
    acked: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.05

    def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        t0 = time.perf_counter()
        try:
            if health:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            else:
                ok = 200 <= send(conn, notification(first + i)) < 300
        except (OSError, http.client.HTTPException):
            local.conn = None
            ok = False
        t1 = time.perf_counter()
        with lock:
            if ok:
                latencies.append((t1 - t0) * 1000)  # from sending, not from due time
                acked.append(t1)
            else:
                errors += 1

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(total)))
    elapsed = max(acked) - start if acked else seconds
    return {
        "rate": rate,
        "sent": total,
        "ok": len(latencies),
        "errors": errors,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(latencies, 0.50), 2),
        "p99_ms": round(pct(latencies, 0.99), 2),
        "acked_at": sorted(acked),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    with scratch_tree("bench-feeds-") as tmp:
        site = Install(Path(tmp) / "home").setup()
        site.start(workers=args.workers, threads=args.threads)
        steps = []
        # warm-up, not reported: every worker imports and connects before the first step
        run(site.port, 100, 2.0, 0, health=True)
        first = 1 + run(site.port, 100, 2.0, 1, health=False)["sent"]
        try:
            for rate in rates:
                base = checkpoint_size(site.port)
                samples: list[tuple[float, int]] = []  # (when, checkpoint size), while sending
                done = threading.Event()

                def watch(base: int = base, samples: list = samples, done=done) -> None:
                    while not done.is_set():
                        samples.append((time.perf_counter(), checkpoint_size(site.port) - base))
                        time.sleep(0.02)

                watcher = threading.Thread(target=watch)
                watcher.start()
                feed = run(site.port, rate, args.seconds, first, health=False)
                acked = feed.pop("acked_at")
                deadline = time.perf_counter() + 30
                while (
                    not samples or samples[-1][1] < len(acked)
                ) and time.perf_counter() < deadline:
                    time.sleep(0.05)
                done.set()
                watcher.join()
                # ack -> covered by a signed checkpoint: the k-th acknowledgement (in time order)
                # against the first checkpoint holding k entries more than before the step
                covered: list[float] = []
                j = 0
                for k, at in enumerate(acked, start=1):
                    while j < len(samples) and samples[j][1] < k:
                        j += 1
                    if j == len(samples):
                        break
                    covered.append(max(0.0, samples[j][0] - at))
                health = run(site.port, rate, args.seconds, 0, health=True)
                health.pop("acked_at")
                rows = json.loads(site.sol("notifications", "list", "--json", "--limit", "100000"))
                booked = sum(1 for r in rows if r["status"] == "booked")
                step = {
                    "rate": rate,
                    "feed": feed,
                    "healthz": health,
                    "p99_ratio_vs_healthz": round(feed["p99_ms"] / health["p99_ms"], 2),
                    "booked_total": booked,
                    "sent_total": first - 1 + feed["sent"],
                    "exactly_once": booked == first - 1 + feed["sent"] and feed["errors"] == 0,
                    "ack_to_checkpoint_p99_s": round(pct(covered, 0.99), 3),
                    "ack_to_checkpoint_covered": len(covered),
                }
                steps.append(step)
                print(json.dumps({k: v for k, v in step.items() if k != "healthz"}), flush=True)
                first += feed["sent"]
        finally:
            site.stop()
    good = [s for s in steps if s["exactly_once"] and s["feed"]["p99_ms"] < 100]
    result = {
        "benchmark": "feeds",
        "what": "signed SePay notifications, acknowledgement latency and booking, vs /healthz",
        "server": f"solidarity serve, {args.workers} Granian workers x "
        f"{args.threads} threads, SQLite",
        "seconds_per_rate": args.seconds,
        "steps": steps,
        "highest_sustained_rate_p99_under_100ms": max((s["rate"] for s in good), default=None),
        "note": "latency measured from send; sender and server share one host",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
