"""PostgreSQL's write rate under the booking load, against the gifts booked in the same run.

Starts a PostgreSQL server of its own (initdb from /usr/lib/postgresql/15/bin as the
`postgres` user, in a scratch directory, on a free loopback port, default settings: fsync and
synchronous_commit on), so that its server-wide counters count the bench alone, and
`solidarity serve` (Granian, the sequencer, the booker: bench/feeds_load.Install) on a
database there; then it measures four windows, one after the other:

- idle: the node running with nothing to book (leases, heartbeats, the helpers' polls);
- import: a generated statement of --rows rows (bench/gen_statement.py, the feed's account)
  imported by `solidarity import`, the real import path;
- webhooks: signed SePay notifications at --rate for --seconds (bench/bench_feeds.py's
  open-loop sender over keep-alive connections), stored by the receivers and booked by the
  booker;
- both: a statement of the following week imported while webhooks arrive at --rate.

A window's load time runs from its start until every gift is booked and the log's
checkpoint covers every entry (on PostgreSQL the sequencer writes its tiles and checkpoints
into the same database, so they are part of the load). The counters are read before the
window and SETTLE seconds after its end, once every server process has reported its
statistics (PostgreSQL 15 holds an idle backend's counts for up to 10 s): pg_stat_wal
(wal_records, wal_fpi, wal_bytes), pg_stat_database of the bench's database (xact_commit,
tup_inserted/updated/deleted, blks_read; pg_database_size), pg_stat_bgwriter (buffers written by the
checkpointer, the background writer and backends, checkpoints), and the commits of every
other database. Reported per window: WAL bytes/s, commits/s, rows/s, gifts/s, and per gift
WAL bytes, WAL records, full-page images, commits and rows, raw and net of the idle window's
rate. The ratios per gift are what matter on a shared machine.

With --postgres URL it uses that database of an existing server instead (dropped and created
first, dropped at the end). pg_stat_wal and pg_stat_bgwriter count the whole server: on a
server other databases use at the same time, their writes land there too (and a backend's
counts arrive up to 10 s late), which makes the WAL figures worthless on a shared server;
`other_databases_commits` shows what else ran. The bench's own polls of its database (a few
reads a second) are subtracted from its commits.

    .venv/bin/python bench/bench_pg_writes.py                        # about 4 minutes
    .venv/bin/python bench/bench_pg_writes.py --rows 30000 --rate 400 --seconds 20

Result: bench/results/pg_writes.json (os.getloadavg() before and after every window).
Without initdb (or root to run it as `postgres`) and without --postgres it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench.feeds_load import Install, free_port, get  # noqa: E402

from bench_feeds import run  # noqa: E402
from bench_import import _pg_admin_url, load_average, pg_database_reset  # noqa: E402
from gen_statement import ICT, rows_write, statement_rows  # noqa: E402
from scratch import scratch_tree  # noqa: E402

RESULTS = HERE / "results" / "pg_writes.json"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "bench_pg_writes"
SETTLE = 11.0
"""Seconds after a window's load before reading the counters: PostgreSQL 15 reports an idle
backend's statistics within PGSTAT_IDLE_INTERVAL (10 s)."""
POLL = 0.25

_SERVER_SQL = """
SELECT w.wal_records, w.wal_fpi, w.wal_bytes::bigint,
       (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,
       d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted,
       d.blks_read, b.buffers_checkpoint, b.buffers_clean, b.buffers_backend,
       b.checkpoints_timed + b.checkpoints_req,
       (SELECT sum(xact_commit) FROM pg_stat_database WHERE datname IS DISTINCT FROM %s)::bigint,
       pg_database_size(%s)
FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d WHERE d.datname = %s
"""
_SERVER_FIELDS = (
    "wal_records", "wal_fpi", "wal_bytes", "wal_lsn", "xact_commit", "xact_rollback",
    "tup_inserted", "tup_updated", "tup_deleted", "blks_read", "buffers_checkpoint",
    "buffers_clean", "buffers_backend", "checkpoints", "other_databases_commits",
    "database_bytes",
)  # fmt: skip
SETTINGS = (
    "shared_buffers", "wal_level", "synchronous_commit", "full_page_writes", "wal_compression",
    "checkpoint_timeout", "max_wal_size", "commit_delay", "fsync",
)  # fmt: skip


class Counters:
    """Reads the server's cumulative counters (from the maintenance database, so the reads
    are not the bench database's commits) and the bench database's own counts."""

    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415 - PostgreSQL only

        admin, self.name = _pg_admin_url(url)
        self.admin = psycopg.connect(admin, autocommit=True)
        self.db = psycopg.connect(url, autocommit=True)
        self.own_reads = 0  # statements this bench ran on the bench database

    def server(self) -> dict[str, int]:
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = self.admin.execute(_SERVER_SQL, (self.name,) * 3).fetchone()
        assert row is not None, f"no pg_stat_database row for {self.name}"
        return dict(zip(_SERVER_FIELDS, (int(v or 0) for v in row), strict=True))

    def settings(self) -> dict[str, str]:
        rows = self.admin.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s)",
            (list(SETTINGS),),
        ).fetchall()
        return dict(rows)

    def one(self, sql: str) -> int:
        self.own_reads += 1
        row = self.db.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def gifts(self) -> int:
        return self.one("SELECT count(*) FROM donations_donation")

    def behind(self) -> int:
        """Notifications not booked yet plus log entries no checkpoint covers, in one read
        (the checkpoint is the LogFile row every node serves)."""
        return self.one(
            "SELECT (SELECT count(*) FROM feeds_notification WHERE status = 'stored')"
            " + (SELECT coalesce(sum(size), 0) FROM transparency_loghead)"
            " - coalesce((SELECT split_part(convert_from(data, 'UTF8'), E'\\n', 2)::bigint"
            "   FROM transparency_logfile WHERE log = 'cuba' AND path = 'checkpoint'), 0)"
        )

    def close(self) -> None:
        self.admin.close()
        self.db.close()


def settled(counters: Counters, *, timeout: float = 600.0) -> None:
    """Wait until no notification waits for the booker and the checkpoint covers the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if counters.behind() <= 0:
            return
        time.sleep(POLL)
    raise TimeoutError("the booker or the sequencer did not catch up")


def statement_week(path: Path, *, rows: int, week: int) -> None:
    """A generated statement of `rows` rows over the campaign's `week`-th week (0 = the
    first), so statements of different weeks never share a document number and a day."""
    start = datetime(2025, 8, 14, 7, 0, tzinfo=ICT) + timedelta(days=7 * week)
    rows_write(path, statement_rows(rows=rows, seed=1 + week, start=start, days=7), fmt="csv")


def statement_import(site: Install, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "solidarity.cli", "import", str(path), "--json"],
        env=site.env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"solidarity import: {done.stdout}{done.stderr}")
    report = json.loads(done.stdout)["files"][0]
    return {k: report[k] for k in ("rows_read", "booked", "status") if k in report}


def window(
    name: str,
    site: Install,
    counters: Counters,
    load: Callable[[], dict[str, Any]],
    *,
    idle: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Run `load`, wait until booked and sequenced, settle, and report the counters' change."""
    load_before = load_average()
    gifts_before = counters.gifts()
    reads_before = counters.own_reads
    before = counters.server()
    t0 = time.perf_counter()
    detail = load()
    settled(counters)
    seconds = time.perf_counter() - t0
    load_after = load_average()
    time.sleep(SETTLE)
    own_reads = counters.own_reads - reads_before
    after = counters.server()
    span = time.perf_counter() - t0  # the counters' interval: load and settling
    gifts = counters.gifts() - gifts_before
    d = {k: after[k] - before[k] for k in _SERVER_FIELDS}
    d["xact_commit"] -= own_reads
    rows = d["tup_inserted"] + d["tup_updated"] + d["tup_deleted"]
    written = d["buffers_checkpoint"] + d["buffers_clean"] + d["buffers_backend"]
    out: dict[str, Any] = {
        "window": name,
        "load_seconds": round(seconds, 2),
        "counters_seconds": round(span, 2),
        "gifts": gifts,
        "gifts_per_s": round(gifts / seconds, 1),
        "wal_bytes": d["wal_bytes"],
        "wal_lsn_bytes": d["wal_lsn"],
        "wal_records": d["wal_records"],
        "wal_fpi": d["wal_fpi"],
        "commits": d["xact_commit"],
        "rollbacks": d["xact_rollback"],
        "rows_written": rows,
        "tup_inserted": d["tup_inserted"],
        "tup_updated": d["tup_updated"],
        "tup_deleted": d["tup_deleted"],
        "blks_read": d["blks_read"],
        "buffers_written": written,
        "checkpoints": d["checkpoints"],
        "other_databases_commits": d["other_databases_commits"],
        "database_bytes_grown": d["database_bytes"],
        "database_bytes_after": after["database_bytes"],
        # rates over the load time (the settling adds only the idle background, see idle);
        # with nothing booked, over the whole interval
        "wal_bytes_per_s": round(d["wal_bytes"] / (seconds if gifts else span)),
        "commits_per_s": round(d["xact_commit"] / (seconds if gifts else span), 1),
        "rows_per_s": round(rows / (seconds if gifts else span), 1),
        "load_average": {"before": load_before, "after": load_after},
        **detail,
    }
    if gifts:
        per = {
            "wal_bytes": d["wal_bytes"],
            "wal_records": d["wal_records"],
            "wal_fpi": d["wal_fpi"],
            "commits": d["xact_commit"],
            "rows": rows,
            "database_bytes": d["database_bytes"],
        }
        out["per_gift"] = {k: round(v / gifts, 2) for k, v in per.items()}
        if idle:
            out["per_gift_net_of_idle"] = {
                k: round((v - idle[k] * span) / gifts, 2) for k, v in per.items()
            }
    else:
        out["per_second"] = {
            "wal_bytes": round(d["wal_bytes"] / span, 1),
            "wal_records": round(d["wal_records"] / span, 2),
            "wal_fpi": round(d["wal_fpi"] / span, 2),
            "commits": round(d["xact_commit"] / span, 2),
            "rows": round(rows / span, 2),
            "database_bytes": round(d["database_bytes"] / span, 1),
        }
    print(json.dumps({k: v for k, v in out.items() if k != "feed"}), file=sys.stderr, flush=True)
    return out


def feed_step(port: int, rate: int, seconds: float, first: int) -> dict[str, Any]:
    result = run(port, rate, seconds, first, health=False)
    result.pop("acked_at")
    return result


def _as_postgres(*args: str | Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def private_server_possible() -> bool:
    return (PG_BIN / "initdb").exists() and os.geteuid() == 0 and bool(shutil.which("runuser"))


@contextmanager
def private_server(root: Path) -> Iterator[str]:
    """A PostgreSQL 15 server of the bench's own in `root` (initdb defaults, loopback, a free
    port), stopped and removed at the end; yields the URL of an empty database on it."""
    data, port = root / "pgdata", free_port()
    root.chmod(0o755)
    logs = root / "pglog"
    for owned in (data, logs):
        owned.mkdir()
        shutil.chown(owned, "postgres", "postgres")
    _as_postgres(PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres")
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{data}'\nmax_connections = 200\n")  # fmt: skip
    _as_postgres(PG_BIN / "pg_ctl", "-D", data, "-l", logs / "postgres.log", "-w", "start")
    try:
        _as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(port), DATABASE)
        yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        _as_postgres(PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")


def reachable(url: str) -> bool:
    import psycopg  # noqa: PLC0415

    try:
        psycopg.connect(_pg_admin_url(url)[0], connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def measure(url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The four windows on the empty database at `url`; the result's server-side part."""
    site = Install(work / "home", database_url=url).setup()
    for week in (0, 1):
        statement_week(work / f"week{week}.csv", rows=args.rows, week=week)
    site.start(workers=args.workers, threads=args.threads)
    counters = Counters(url)
    try:
        # warm-up, not reported: every worker imports, connects and books once
        run(site.port, 50, 2.0, 0, health=True)
        first = 1 + run(site.port, 50, 2.0, 1, health=False)["sent"]
        settled(counters)

        def idle_load() -> dict[str, Any]:
            time.sleep(args.idle)
            return {}

        def import_load() -> dict[str, Any]:
            return {"import": statement_import(site, work / "week0.csv")}

        def webhook_load() -> dict[str, Any]:
            nonlocal first
            feed = feed_step(site.port, args.rate, args.seconds, first)
            first += feed["sent"]
            return {"feed": feed}

        def both_load() -> dict[str, Any]:
            nonlocal first
            feed: dict[str, Any] = {}
            start = first
            sender = threading.Thread(
                target=lambda: feed.update(feed_step(site.port, args.rate, args.seconds, start))
            )
            sender.start()
            imported = statement_import(site, work / "week1.csv")
            sender.join()
            first += feed["sent"]
            return {"import": imported, "feed": feed}

        idle = window("idle", site, counters, idle_load)
        background = idle["per_second"]
        windows = [idle]
        for name, load in (("import", import_load), ("webhooks", webhook_load),
                           ("both", both_load)):  # fmt: skip
            windows.append(window(name, site, counters, load, idle=background))
        return {
            "postgres_settings": counters.settings(),
            "readyz_after": get(site.port, "/readyz")[0],
            "windows": windows,
        }
    finally:
        counters.close()
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL",
                        help="use this database of an existing server (dropped, created, "
                        "dropped again) instead of a server of the bench's own")  # fmt: skip
    parser.add_argument("--rows", type=int, default=30_000, help="rows per imported statement")
    parser.add_argument("--rate", type=int, default=400, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of webhooks")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of the idle window")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.postgres and not reachable(args.postgres):
        print(f"*** SKIPPED: no PostgreSQL server at {args.postgres} ***")
        return
    if not args.postgres and not private_server_possible():
        print(f"*** SKIPPED: no {PG_BIN / 'initdb'} to run as root (or pass --postgres URL) ***")
        return
    load_start = load_average()
    with scratch_tree("bench-pg-writes-") as tmp:
        work = Path(tmp)
        if args.postgres:
            pg_database_reset(args.postgres, create=True)
            try:
                measured = measure(args.postgres, work, args)
            finally:
                pg_database_reset(args.postgres, create=False)
        else:
            with private_server(work) as url:
                measured = measure(url, work, args)
    result = {
        "benchmark": "pg_writes",
        "what": "PostgreSQL's writes under the booking load (statement import through "
        "`solidarity import`, signed webhooks booked by the booker, both), per gift booked",
        "server": f"solidarity serve, {args.workers} Granian workers x {args.threads} threads, "
        "sequencer and booker; PostgreSQL 15 on the same host, "
        + ("an existing server (counters shared)" if args.postgres else "the bench's own"),
        "command": " ".join(sys.argv[1:]) or "(defaults)",
        "rows_per_statement": args.rows,
        "webhook_rate": args.rate,
        "webhook_seconds": args.seconds,
        "settle_seconds": SETTLE,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": load_average(),
        },
        **measured,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
