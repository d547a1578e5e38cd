"""Statement search at scale: p50/p99 of the real selector over millions of gifts.

Writes bench/results/search.json.

1. Rows: N gifts (default 2,000,000) generated once, in Python, from the demo generator
   (`solidarity.core.demo`: Vietnamese names and bank memo shapes), published as booking
   publishes them (`donor_publish("masked", ...)`, `memo_mask`, `public_ref_derive`) and
   folded with `search_body`, exactly what booking writes to the search index. Written to a
   TSV once and reused for every database.
2. Load, per database, in a child process with its own Django settings: `migrate`, one
   campaign (with its totals row) through the campaign service, then the gifts straight into
   `donations_donation` and `donations_search`, bypassing the booking service (this is a read
   benchmark): SQLite with `executemany` in one transaction (`PRAGMA synchronous=OFF`,
   foreign keys off), PostgreSQL with `COPY` (its own database, created and dropped here;
   secondary indexes are dropped for the load and recreated from their own definitions).
3. Queries: `donation_search` (the function the statement page and the API call) for each
   query type, REPEAT times with varying values where the type allows; p50/p99 in ms, server
   side. Bare baseline in the same run: `SELECT ... FROM donations_donation WHERE
   public_ref = ?` with random references. `os.getloadavg()` is recorded with every number
   (other benchmarks may share the machine; the ratio to the baseline is the comparable part).

    .venv/bin/python bench/bench_search.py [--gifts N] [--repeat R] [--vendors sqlite,postgresql]
        [--pg postgres://postgres@127.0.0.1:5432/benchsearch]
"""

# ruff: noqa: PLC0415 -- Django is configured per child process before its modules load
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import scratch_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "search.json"
SLUG = "cuba-2025"
OPENS = datetime(2025, 8, 25, 1, 0, tzinfo=UTC)
GOAL = 65_000_000_000
COLUMNS = ("id", "public_ref", "amount", "received_at", "channel", "name", "memo", "body")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rows_write(path: Path, gifts: int) -> float:
    """Generate `gifts` published gifts into a TSV; return the seconds it took."""
    from solidarity.apps.donations.search import search_body
    from solidarity.core.demo import demo_gifts
    from solidarity.core.privacy import donor_publish, memo_mask, public_ref_derive

    t0 = time.perf_counter()
    key = b"bench-search-public-ref-key-0001"
    with path.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        for g in demo_gifts(gifts, opens_at=OPENS, goal=GOAL):
            name = donor_publish("masked", g.donor_name)[:120]
            memo = memo_mask(g.memo)[:500].replace("\t", " ")
            ref = public_ref_derive(key, "bench", str(g.seq))
            w.writerow(
                (
                    g.seq + 1,
                    ref,
                    g.amount,
                    g.received_at.isoformat(),
                    g.channel,
                    name,
                    memo,
                    search_body(name, memo, ref),
                )
            )
    return time.perf_counter() - t0


def bank_code(i: int) -> str:
    """The bank transaction code of generated gift `i`, shaped like MB Bank's (FT + digits)."""
    return f"FT2534{i:010d}"


def _tsv(path: Path):
    with path.open(encoding="utf-8", newline="") as f:
        for line in f:
            i, ref, amount, at, channel, name, memo, body = line.rstrip("\n").split("\t")
            yield int(i), ref, int(amount), datetime.fromisoformat(at), channel, name, memo, body


# --- child: one database ------------------------------------------------------------------


def _bulk_sqlite(connection: Any, campaign_id: int, rows_path: Path) -> None:
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")
    raw.execute("BEGIN")
    gifts: list[tuple] = []
    search: list[tuple] = []

    def flush() -> None:
        raw.executemany(
            "INSERT INTO donations_donation (id, campaign_id, txn_id, public_ref, amount_minor,"
            " currency, received_at, channel, display_name, memo_public, source, source_ref,"
            " bank_ref) VALUES (?,?,?,?,?,'VND',?,?,?,?,'bench',?,?)",
            gifts,
        )
        raw.executemany("INSERT INTO donations_search (rowid, body) VALUES (?, ?)", search)
        gifts.clear()
        search.clear()

    for i, ref, amount, at, channel, name, memo, body in _tsv(rows_path):
        stamp = str(at.astimezone(UTC).replace(tzinfo=None))
        gifts.append(
            (i, campaign_id, i, ref, amount, stamp, channel, name, memo, str(i), bank_code(i))
        )
        search.append((i, body))
        if len(gifts) >= 50_000:
            flush()
    flush()
    raw.execute("COMMIT")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("ANALYZE")


def _bulk_postgresql(connection: Any, campaign_id: int, rows_path: Path) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN"
            " ('donations_donation', 'donations_search') AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint)"
        )
        secondary = cur.fetchall()
        for name, _def in secondary:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")  # no FK checks in the bulk load
        cur.execute("SET maintenance_work_mem = '1GB'")
        raw = cur.cursor  # psycopg cursor: COPY
        with raw.copy(
            "COPY donations_donation (id, campaign_id, txn_id, public_ref, amount_minor,"
            " currency, received_at, channel, display_name, memo_public, source, source_ref,"
            " bank_ref) FROM STDIN"
        ) as gifts:
            for i, ref, amount, at, channel, name, memo, _body in _tsv(rows_path):
                gifts.write_row(
                    (
                        i, campaign_id, i, ref, amount, "VND", at, channel, name, memo, "bench", i,
                        bank_code(i),
                    )
                )  # fmt: skip
        with raw.copy("COPY donations_search (donation_id, body) FROM STDIN") as search:
            for i, *_rest, body in _tsv(rows_path):
                search.write_row((i, body))
        for _name, definition in secondary:
            cur.execute(definition)
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('donations_donation', 'id'), %s)", [int(1e9)]
        )
        cur.execute("VACUUM ANALYZE donations_donation")
        cur.execute("VACUUM ANALYZE donations_search")


def _timed(fn: Any, values: list[Any]) -> dict[str, Any]:
    fn(values[0])  # warm
    before = _load()
    samples = []
    for v in values:
        t = time.perf_counter()
        fn(v)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {
        "n": len(samples),
        "p50_ms": round(samples[len(samples) // 2], 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "max_ms": round(samples[-1], 2),
        "loadavg": [before, _load()],
    }


def install(vendor: str, rows_path: Path, pg_url: str, home: Path) -> tuple[Any, dict[str, Any]]:
    """In this (child) process: Django set up on a new installation at `home` (for
    PostgreSQL, the empty database at `pg_url`), migrated, one campaign, every gift of
    `rows_path` bulk-loaded, the campaign's totals set. Returns the campaign and how the load
    went. Shared by bench_search_http.py."""
    os.environ["SOLIDARITY_HOME"] = str(home)
    os.environ["SOLIDARITY_TESTING"] = "1"
    if vendor == "postgresql":
        os.environ["DATABASE_URL"] = pg_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "solidarity.web.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from tests.factories import campaign_factory

    from solidarity.apps.ledger.models import CampaignTotals

    call_command("migrate", verbosity=0)
    campaign = campaign_factory(slug=SLUG, goal=GOAL, opens_at=OPENS)
    t0 = time.perf_counter()
    load_before = _load()
    if vendor == "sqlite":
        _bulk_sqlite(connection, campaign.pk, rows_path)
    else:
        _bulk_postgresql(connection, campaign.pk, rows_path)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount_minor), 0) FROM donations_donation"
            " WHERE campaign_id = %s",
            [campaign.pk],
        )
        count, raised = cur.fetchone()
    CampaignTotals.objects.filter(campaign=campaign).update(
        raised_minor=raised, donation_count=count
    )
    return campaign, {
        "gifts": count,
        "bulk_load_seconds": round(time.perf_counter() - t0, 1),
        "bulk_load_loadavg": [load_before, _load()],
    }


def search_child(vendor: str, gifts: int, rows_path: Path, pg_url: str, repeat: int) -> dict:
    home = scratch_dir(f"bench-search-{vendor}-")
    campaign, loaded = install(vendor, rows_path, pg_url, home)
    assert loaded["gifts"] == gifts, (loaded["gifts"], gifts)
    from django.db import connection

    from solidarity.apps.donations.models import Donation
    from solidarity.apps.donations.search import query_words
    from solidarity.apps.donations.selectors import (
        StatementQuery,
        _words_indexed,
        donation_search,
    )

    rng = random.Random(11)
    refs: list[str] = []
    picks = set(rng.sample(range(1, gifts + 1), min(gifts, 2000)))
    last_at = OPENS
    for i, ref, _a, at, *_ in _tsv(rows_path):
        if i in picks:
            refs.append(ref)
        last_at = max(last_at, at)
    rng.shuffle(refs)

    def bare(ref: str) -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, public_ref, amount_minor, currency, received_at, channel,"
                " display_name, memo_public FROM donations_donation WHERE public_ref = %s",
                [ref],
            )
            cur.fetchall()

    def run(query: StatementQuery, cursor: str | None = None) -> None:
        donation_search(campaign=campaign, query=query, cursor=cursor)

    day = timedelta(days=1)
    # Days well inside the campaign (most gifts arrive in the first days).
    days = [OPENS + timedelta(days=d) for d in range(10)]
    common_full = ["Nguyễn Văn An", "Trần Thị Hương", "Lê Minh Tuấn", "Phạm Thu Trang"]
    rare_full = ["Lý Bảo Cường", "Dương Hoài Nhung", "Ngô Quốc Khoa", "Lý Xuân Yến"]
    amount_ranges = [(500_000, 1_000_000), (2_000_000, 10_000_000), (100_000, 200_000)]
    first = donation_search(campaign=campaign, query=StatementQuery())
    deep = first
    for _ in range(50):
        deep = donation_search(campaign=campaign, query=StatementQuery(), cursor=deep.next_cursor)
    by_amount = donation_search(campaign=campaign, query=StatementQuery(q="nguyen", sort="-amount"))

    def cycle(values: list[Any]) -> list[Any]:
        return [values[k % len(values)] for k in range(repeat)]

    cases: dict[str, tuple[Any, list[Any]]] = {
        "first page, no filter (newest first)": (lambda _v: run(StatementQuery()), cycle([0])),
        "keyset next page (page 2)": (
            lambda c: run(StatementQuery(), c),
            cycle([first.next_cursor]),
        ),
        "keyset deep page (page 52)": (
            lambda c: run(StatementQuery(), c),
            cycle([deep.next_cursor]),
        ),
        "common family name 'nguyen'": (lambda q: run(StatementQuery(q=q)), cycle(["nguyen"])),
        "common family name 'nguyen', by amount, next page": (
            lambda c: run(StatementQuery(q="nguyen", sort="-amount"), c),
            cycle([by_amount.next_cursor]),
        ),
        "full name with diacritics (common)": (
            lambda q: run(StatementQuery(q=q)),
            cycle(common_full),
        ),
        "full name with diacritics (rare)": (lambda q: run(StatementQuery(q=q)), cycle(rare_full)),
        "reference (ref=)": (lambda r: run(StatementQuery(ref=r)), refs[:repeat]),
        "reference typed in the search box": (
            lambda r: run(StatementQuery(q=r.lower())),
            refs[repeat : 2 * repeat],
        ),
        "amount range, newest first": (
            lambda mm: run(StatementQuery(min_minor=mm[0], max_minor=mm[1])),
            cycle(amount_ranges),
        ),
        "amount range, by amount": (
            lambda mm: run(StatementQuery(min_minor=mm[0], max_minor=mm[1], sort="-amount")),
            cycle(amount_ranges),
        ),
        "date range (one day)": (
            lambda d: run(StatementQuery(since=d, until=d + day)),
            cycle(days),
        ),
        "date range, by amount": (
            lambda d: run(StatementQuery(since=d, until=d + day, sort="-amount")),
            cycle(days),
        ),
        "name + amount range": (
            lambda qa: run(StatementQuery(q=qa[0], min_minor=qa[1], max_minor=qa[2])),
            cycle(
                [
                    ("nguyen", 1_000_000, 10_000_000),
                    ("Trần Thị Hương", 500_000, 1_000_000),
                    ("Lý Bảo Cường", 100_000, 200_000),
                ]
            ),
        ),
        "name + date range": (
            lambda qd: run(StatementQuery(q=qd[0], since=qd[1], until=qd[1] + day)),
            cycle([("Nguyễn Văn An", days[1]), ("huynh", days[3]), ("Lý Bảo Cường", days[0])]),
        ),
    }
    results: dict[str, Any] = {
        "bare baseline: SELECT ... WHERE public_ref = ?": _timed(bare, refs[: max(repeat, 200)])
    }
    for name, (fn, values) in cases.items():
        results[name] = _timed(fn, values)
    base = results["bare baseline: SELECT ... WHERE public_ref = ?"]["p99_ms"] or 0.01
    for r in results.values():
        r["p99_ratio_to_baseline"] = round(r["p99_ms"] / base, 1)
    # How many gifts the word queries match, through the index.
    gifts_of = Donation.objects.filter(campaign=campaign)
    matches = {
        q: _words_indexed(gifts_of, query_words(q)).count()
        for q in ["nguyen", "huynh", *common_full, *rare_full]
    }
    shutil.rmtree(home, ignore_errors=True)
    return {
        **loaded,
        "word_matches": matches,
        "queries": results,
        "last_gift_at": last_at.isoformat(),
    }


# --- parent ---------------------------------------------------------------------------------


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


class PgUnreachableError(RuntimeError):
    pass


@contextmanager
def pg_database(url: str, *, enabled: bool = True) -> Iterator[None]:
    """The database named in `url` new and empty for the block, dropped after it."""
    if not enabled:
        yield
        return
    dbname = url.rsplit("/", 1)[1]
    try:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{dbname}"')
        _pg_admin(url, f'CREATE DATABASE "{dbname}"')
    except Exception as exc:
        raise PgUnreachableError(str(exc)) from exc
    try:
        yield
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{dbname}"')


def child_run(script: str, vendor: str, argv: list[str], env: dict[str, str] | None = None) -> Any:
    """Run `script --child VENDOR ARGV...` (one database per process, Django set up there)
    and return the JSON its last line of output holds."""
    child = subprocess.run(
        [sys.executable, script, "--child", vendor, *argv],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **(env or os.environ),
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}:{ROOT / 'bench'}",
        },
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"{vendor} child failed")
    return json.loads(child.stdout.strip().splitlines()[-1])


def rows_ready(rows_path: Path, gifts: int, out: dict[str, Any]) -> None:
    """Generate the rows TSV unless it is there (`--rows` keeps it for the next run)."""
    if rows_path.exists():
        return
    before = _load()
    seconds = rows_write(rows_path, gifts)
    out["generate_seconds"] = round(seconds, 1)
    out["generate_loadavg"] = [before, _load()]
    print(f"generated {gifts} rows in {seconds:.1f}s", flush=True)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--gifts", type=int, default=2_000_000)
    p.add_argument("--repeat", type=int, default=100)
    p.add_argument("--vendors", default="sqlite,postgresql")
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/benchsearch")
    p.add_argument("--rows", type=Path, help="reuse (or keep) the generated rows TSV here")
    p.add_argument("--child", choices=("sqlite", "postgresql"))
    args = p.parse_args()
    if args.child:
        out = search_child(args.child, args.gifts, args.rows, args.pg, args.repeat)
        print(json.dumps(out))
        return
    tmp = scratch_dir("bench-search-rows-")
    rows_path = args.rows or tmp / "gifts.tsv"
    out: dict[str, Any] = {
        "machine": machine(),
        "gifts": args.gifts,
        "repeat": args.repeat,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        rows_ready(rows_path, args.gifts, out)
        out["search"] = {}
        for vendor in args.vendors.split(","):
            try:
                with pg_database(args.pg, enabled=vendor == "postgresql"):
                    out["search"][vendor] = child_run(
                        __file__,
                        vendor,
                        ["--gifts", str(args.gifts), "--rows", str(rows_path), "--pg", args.pg,
                         "--repeat", str(args.repeat)],
                    )  # fmt: skip
            except PgUnreachableError as exc:
                out["search"][vendor] = {"skipped": f"PostgreSQL not reachable: {exc}"}
                continue
            print(vendor, json.dumps(out["search"][vendor], indent=2), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
