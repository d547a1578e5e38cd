"""Signed SePay notifications at increasing rates against `solidarity serve` (Granian) on a
temporary SOLIDARITY_HOME, 127.0.0.1 only, with `/healthz` at the same rates as the baseline.

Per rate: p50/p99 acknowledgement latency, notifications booked (must equal sent), and the
time from acknowledgement to the signed checkpoint that covers the gift (p99; the k-th
acknowledged gift is taken as covered once the checkpoint's size reaches base + k, which
holds because gifts are sequenced in booking order). Result: bench/results/feeds.json.

With --witnesses N (default 3) the campaign's log has N witnesses, each a real `solidarity
witness serve` process on loopback, and a quorum of --quorum (default 2): a checkpoint then
counts as covering a gift only once it carries the quorum of valid cosignatures, so the time
measured is from acknowledgement to a checkpoint cosigned by the quorum. --witnesses 0 measures
the log's own signature alone. With --baseline the same steps then run on a fresh
installation without witnesses (`without_witnesses` in the JSON, with the ratio per rate).

    .venv/bin/python bench/bench_feeds.py [--rates 200,400,800,1000,1200] [--seconds 3]
    .venv/bin/python bench/bench_feeds.py --seconds 5 --baseline      # about 4 minutes
    .venv/bin/python bench/bench_feeds.py --rates 200,500,1000 --during-import 400000

With --during-import ROWS a generated statement of that many rows (bench/gen_statement.py, the
same account) is imported by `solidarity import` (its default --nice) while the steps run;
each step says whether the import was still running at its end, the import's own time is
reported, and the result goes to bench/results/feeds_during_import.json. The checkpoint then
also grows with the import's gifts, so acknowledgement-to-checkpoint is not measured.

With --postgres URL the installation's database is that PostgreSQL database (the bench's own:
dropped and created first, dropped at the end) instead of a SQLite file, and the results go
to bench/results/feeds_postgres.json (feeds_during_import_postgres.json):

    .venv/bin/python bench/bench_feeds.py --rates 200,400,800,1000 --seconds 5 \
        --postgres postgres://postgres@127.0.0.1:5432/bench_feeds

os.getloadavg() is recorded before and after every step.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feeds_load import SECRET, Install, free_port, get, notification

from bench_import import load_average, pg_database_reset
from gen_statement import statement_write
from scratch import scratch_tree
from solidarity.core.tlog.cosignature import Cosigner, cosigner_parse, note_cosignatures
from solidarity.core.webhooks import sepay_sign

RESULTS = Path(__file__).parent / "results" / "feeds.json"
RESULTS_DURING_IMPORT = RESULTS.with_name("feeds_during_import.json")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def checkpoint_size(port: int, cosigners: Sequence[Cosigner] = (), quorum: int = 0) -> int | None:
    """The size of the checkpoint served; None while it lacks `quorum` valid cosignatures by
    `cosigners`."""
    status, body = get(port, "/log/cuba/checkpoint")
    if status != 200:
        return 0
    if quorum and len(note_cosignatures(body, cosigners)) < quorum:
        return None
    return int(body.decode().splitlines()[1])


class Witnesses:
    """N `solidarity witness serve` processes on loopback for the campaign's log."""

    def __init__(self, root: Path, site: Install, n: int) -> None:
        self.root, self.site, self.n = root, site, n
        self.procs: list[subprocess.Popen[bytes]] = []
        self.cosigners: list[Cosigner] = []

    def start(self, log_vkey: str, quorum: int) -> None:
        for i in range(self.n):
            d = self.root / f"w{i}"
            vkey = self.site.sol("witness", "init", f"w{i}.bench.example", "--dir", str(d))
            vkey = vkey.strip().splitlines()[-1]
            port = free_port()
            cmd = [sys.executable, "-m", "solidarity.cli", "witness", "serve", "--dir", str(d),
                   "--port", str(port), "--log", log_vkey]  # fmt: skip
            self.procs.append(
                subprocess.Popen(
                    cmd, env=self.site.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"witness {i} did not start") from None
                    time.sleep(0.1)
            self.site.sol("campaign", "witness", "add", "cuba", "--vkey", vkey,
                          "--url", f"http://127.0.0.1:{port}/")  # fmt: skip
            self.cosigners.append(cosigner_parse(vkey))
        self.site.sol("campaign", "witness", "quorum", "cuba", str(quorum))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


CONNECTIONS = 64
"""Keep-alive connections the sender opens before a step and uses in turn (spread over the
server's workers as it accepts them); a due request waits for a free one."""


def signed_request(n: int) -> bytes:
    """The raw HTTP request of SePay notification n, signed now (valid for the protocol's
    5-minute tolerance, longer than any step)."""
    body = notification(n)
    stamp = str(int(time.time()))
    head = (
        "POST /hooks/vcb HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-SePay-Timestamp: {stamp}\r\nX-SePay-Signature: {sepay_sign(SECRET, stamp, body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _complete(buf: bytes) -> int | None:
    """The HTTP status once `buf` holds a whole response (Content-Length framed), else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if len(buf) < end + 4 + length:
        return None
    return int(buf[9:12])


def run(port: int, rate: int, seconds: float, first: int, *, health: bool) -> dict:
    """Open loop from one thread: request i is due at start + i / rate and goes out on the
    longest-idle of CONNECTIONS keep-alive connections. Requests are built and signed before the
    clock starts, so the sender spends its time sending, not signing; latency is measured
    from sending, not from the due time."""
    total = int(rate * seconds)
    requests = [HEALTHZ] * total if health else [signed_request(first + i) for i in range(total)]
    selector = selectors.DefaultSelector()
    idle: deque[socket.socket] = deque()
    for _ in range(CONNECTIONS):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector.register(sock, selectors.EVENT_READ)
        idle.append(sock)
    flight: dict[socket.socket, tuple[float, bytearray]] = {}
    latencies: list[float] = []
    acked: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.05
    i = 0

    def drop(sock: socket.socket) -> None:
        selector.unregister(sock)
        sock.close()

    while len(latencies) + errors < total:
        now = time.perf_counter()
        while i < total and start + i / rate <= now and idle:
            sock = idle.popleft()
            try:
                sock.sendall(requests[i])
                flight[sock] = (time.perf_counter(), bytearray())
            except OSError:
                errors += 1
                drop(sock)
            i += 1
        if not idle and not flight:
            errors += total - i  # every connection is gone
            break
        wait = 0.05
        if i < total and idle:
            wait = max(0.0, start + i / rate - time.perf_counter())
        for key, _ in selector.select(wait):
            sock = key.fileobj  # type: ignore[assignment]
            if sock not in flight:  # the server closed an idle connection
                idle.remove(sock)
                drop(sock)
                continue
            sent_at, buf = flight[sock]
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                errors += 1
                del flight[sock]
                drop(sock)
                continue
            buf += data
            status = _complete(bytes(buf))
            if status is None:
                continue
            t1 = time.perf_counter()
            del flight[sock]
            idle.append(sock)
            if 200 <= status < 300:
                latencies.append((t1 - sent_at) * 1000)
                acked.append(t1)
            else:
                errors += 1
    for sock in [*idle, *flight]:
        sock.close()
    selector.close()
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


def booked_count(site: Install) -> int:
    rows = json.loads(site.sol("notifications", "list", "--json", "--limit", "100000"))
    return sum(1 for r in rows if r["status"] == "booked")


def measure(args: argparse.Namespace, n_witnesses: int, quorum: int) -> tuple[list, dict]:
    """Every rate's step on a fresh installation whose log has n_witnesses witnesses."""
    rates = [int(r) for r in args.rates.split(",")]
    importing: subprocess.Popen[str] | None = None
    import_report: dict[str, object] = {}
    if args.postgres:
        pg_database_reset(args.postgres, create=True)
    with scratch_tree("bench-feeds-") as tmp:
        site = Install(Path(tmp) / "home", database_url=args.postgres).setup()
        if args.during_import:
            statement = Path(tmp) / "statement.csv"
            statement_write(statement, rows=args.during_import)
        site.start(workers=args.workers, threads=args.threads)
        witnesses = Witnesses(Path(tmp) / "witnesses", site, n_witnesses)
        steps = []
        try:
            if n_witnesses:
                deadline = time.monotonic() + 30
                while (vkey := get(site.port, "/log/cuba/vkey"))[0] != 200:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the log has no key")
                    time.sleep(0.2)
                witnesses.start(vkey[1].decode().strip(), quorum)
                deadline = time.monotonic() + 60
                while checkpoint_size(site.port, witnesses.cosigners, quorum) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError("no checkpoint cosigned by the quorum")
                    time.sleep(0.2)
            # warm-up, not reported: every worker imports and connects before the first step
            run(site.port, 100, 2.0, 0, health=True)
            first = 1 + run(site.port, 100, 2.0, 1, health=False)["sent"]
            if args.during_import:
                import_started = time.perf_counter()
                importing = subprocess.Popen(
                    [sys.executable, "-m", "solidarity.cli", "import", str(statement), "--json"],
                    env=site.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                time.sleep(3.0)  # past parsing: booking, which holds the database's write lock
            cosigners = witnesses.cosigners
            for rate in rates:
                base = None
                while base is None:  # the last checkpoint cosigned by the quorum
                    base = checkpoint_size(site.port, cosigners, quorum)
                samples: list[tuple[float, int]] = []  # (when, checkpoint size), while sending
                done = threading.Event()

                def watch(base: int = base, samples: list = samples, done=done) -> None:
                    while not done.is_set():
                        size = checkpoint_size(site.port, cosigners, quorum)
                        if size is not None:  # served, and cosigned by the quorum
                            samples.append((time.perf_counter(), size - base))
                        time.sleep(0.02)

                watcher = threading.Thread(target=watch)
                load_before = load_average()
                watcher.start()
                feed = run(site.port, rate, args.seconds, first, health=False)
                acked = feed.pop("acked_at")
                deadline = time.perf_counter() + 60
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
                sent_total = first - 1 + feed["sent"]
                booked = booked_count(site)
                while booked < sent_total and time.perf_counter() < deadline:
                    time.sleep(1.0)  # during an import the booker may trail: wait, then count
                    booked = booked_count(site)
                step = {
                    "rate": rate,
                    "import_running": importing.poll() is None if importing else None,
                    "feed": feed,
                    "healthz": health,
                    "p99_ratio_vs_healthz": round(feed["p99_ms"] / health["p99_ms"], 2),
                    "booked_total": booked,
                    "sent_total": sent_total,
                    "exactly_once": booked == sent_total and feed["errors"] == 0,
                    "ack_to_checkpoint_p99_s": None if importing else round(pct(covered, 0.99), 3),
                    "ack_to_checkpoint_covered": None if importing else len(covered),
                    "load_average": {"before": load_before, "after": load_average()},
                }
                steps.append(step)
                print(json.dumps({k: v for k, v in step.items() if k != "healthz"}), flush=True)
                first += feed["sent"]
            if importing is not None:
                out, _ = importing.communicate(timeout=3600)
                report = json.loads(out)["files"][0]
                import_report = {
                    "rows": args.during_import,
                    "seconds": round(time.perf_counter() - import_started, 1),
                    "booked": report["booked"],
                    "status": report["status"],
                }
        finally:
            if importing is not None and importing.poll() is None:
                importing.kill()
            site.stop()
            witnesses.stop()
            if args.postgres:
                pg_database_reset(args.postgres, create=False)
    return steps, import_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200,400,800,1000,1200")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per worker")
    parser.add_argument("--during-import", type=int, default=0, metavar="ROWS")
    parser.add_argument("--witnesses", type=int, default=3, help="witness processes (0: none)")
    parser.add_argument("--quorum", type=int, default=2, help="cosignatures a checkpoint needs")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="then the same steps on a fresh installation without witnesses, for a ratio",
    )
    parser.add_argument("--postgres", metavar="URL", help="the bench's own PostgreSQL database")
    args = parser.parse_args()
    load_start = load_average()
    quorum = min(args.quorum, args.witnesses)
    steps, import_report = measure(args, args.witnesses, quorum)
    baseline: list = []
    if args.baseline and args.witnesses:
        baseline, _ = measure(args, 0, 0)
    held = None  # the highest rate that held, every lower rate of the run holding too
    for step in sorted(steps, key=lambda s: s["rate"]):
        if not (step["exactly_once"] and step["feed"]["p99_ms"] < 100):
            break
        held = step["rate"]
    result = {
        "benchmark": "feeds",
        "what": "signed SePay notifications, acknowledgement latency and booking, vs /healthz",
        "server": f"solidarity serve, {args.workers} Granian workers x "
        f"{args.threads} threads, " + ("PostgreSQL" if args.postgres else "SQLite"),
        "command": " ".join(sys.argv[1:]) or "(defaults)",
        "load_average": {"start": load_start, "end": load_average()},
        "seconds_per_rate": args.seconds,
        "witnesses": args.witnesses,
        "quorum": quorum,
        "ack_to_checkpoint": (
            f"acknowledgement to the first served checkpoint covering the gift and cosigned by "
            f"{quorum} of {args.witnesses} `solidarity witness serve` processes on loopback"
            if args.witnesses
            else "acknowledgement to the first signed checkpoint covering the gift"
        ),
        "steps": steps,
        "highest_sustained_rate_p99_under_100ms": held,
        "note": "latency measured from send; sender and server share one host",
    }
    if baseline:
        result["without_witnesses"] = {
            "steps": baseline,
            "ack_to_checkpoint_p99_ratio": {
                str(w["rate"]): round(
                    w["ack_to_checkpoint_p99_s"] / b["ack_to_checkpoint_p99_s"], 2
                )
                for w, b in zip(steps, baseline, strict=True)
                if w["ack_to_checkpoint_p99_s"] and b["ack_to_checkpoint_p99_s"]
            },
        }
    if import_report:
        result["during_import"] = import_report
    path = RESULTS_DURING_IMPORT if args.during_import else RESULTS
    if args.postgres:
        path = path.with_name(f"{path.stem}_postgres.json")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
