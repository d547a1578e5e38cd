"""Benchmarks of the public site: pages and totals under load, statement search at scale.

Writes bench/results/public.json.

1. Load: `solidarity serve` (gunicorn) on a temporary SOLIDARITY_HOME with the demo campaign;
   `wrk` (Debian package) on the same machine drives the campaign page and the totals JSON,
   and, as the bare baseline in the same run, the static `/healthz`. Target 3,000 req/s with
   p99 < 50 ms.
2. Search: N gifts (default 2,000,000) written with a bulk path (executemany/COPY into the
   tables, not the ORM) on SQLite and, when reachable, PostgreSQL; then p50/p99 of statement
   queries through the real selector (`donation_search`), against a bare baseline in the same
   run: fetching one page of 50 rows by primary key.

    .venv/bin/python bench/bench_public.py [--gifts N] [--demo-gifts N] [--seconds S]
        [--skip-load] [--skip-search] [--pg URL]
"""

# ruff: noqa: PLC0415 -- Django is configured per child process before its modules load
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def bench_load(args: argparse.Namespace) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="bench-public-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SOLIDARITY_HOME=str(home), SOLIDARITY_HTTPS="false")
    subprocess.run([SOL, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [SOL, "demo", "--gifts", str(args.demo_gifts)], env=env, check=True, capture_output=True
    )
    port = _free_port()
    workers = os.cpu_count() or 2
    server = subprocess.Popen(
        [SOL, "serve", "--port", str(port), "--workers", str(workers), "--threads", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        paths = {
            "healthz (baseline)": "/healthz",
            "campaign page": f"/vi/c/{SLUG}/",
            "totals json": f"/api/v1/campaigns/{SLUG}/totals",
        }
        for path in paths.values():  # warm caches (charts are cached per minute)
            for _ in range(3):
                urllib.request.urlopen(base + path, timeout=30).read()
        results = {
            name: _wrk(base + path, args.seconds, args.connections, 2)
            for name, path in paths.items()
        }
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    base_rps = results["healthz (baseline)"]["rps"]
    for r in results.values():
        r["ratio_to_baseline"] = round(r["rps"] / base_rps, 3)
    return {
        "workers": workers,
        "threads": 4,
        "connections": args.connections,
        "seconds": args.seconds,
        "demo_gifts": args.demo_gifts,
        "results": results,
    }


# --- search at scale -------------------------------------------------------------------


def _rows(n: int, seed: int = 7):
    """(id, public_ref, amount, received_at, display_name, memo) for n synthetic gifts."""
    from solidarity.apps.donations.search import search_body  # noqa: F401 (imported for the child)

    rng = random.Random(seed)
    start = datetime(2025, 8, 25, 1, 0, tzinfo=UTC)
    amounts = [10_000, 20_000, 50_000, 100_000, 200_000, 300_000, 500_000, 1_000_000]
    step = 65 * 86400 / n
    for i in range(1, n + 1):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        memo = rng.choice(MEMO).format(n=name)
        at = start + timedelta(seconds=i * step)
        ref = f"R{i:011d}"
        yield i, ref, rng.choice(amounts) + rng.randrange(0, 3) * 1000, at, name, memo


def search_child(vendor: str, gifts: int, pg_url: str | None) -> dict[str, object]:
    """Runs in its own process: Django configured for one database."""
    home = Path(tempfile.mkdtemp(prefix=f"bench-search-{vendor}-"))
    os.environ["SOLIDARITY_HOME"] = str(home)
    os.environ["SOLIDARITY_TESTING"] = "1"
    if vendor == "postgresql":
        os.environ["DATABASE_URL"] = pg_url or ""
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "solidarity.web.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from tests.factories import campaign_factory

    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.donations.models import Donation
    from solidarity.apps.donations.search import search_body
    from solidarity.apps.donations.selectors import StatementQuery, donation_search
    from solidarity.core.privacy import donor_publish

    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)
    campaign = campaign_factory(slug=SLUG)
    t0 = time.perf_counter()
    batch: list[tuple] = []
    search: list[tuple] = []

    def flush() -> None:
        with connection.cursor() as cur:
            if vendor == "sqlite":
                cur.executemany(
                    "INSERT INTO donations_donation (id, campaign_id, txn_id, public_ref,"
                    " amount_minor, currency, received_at, channel, display_name, memo_public,"
                    " source, source_ref, bank_ref) VALUES"
                    " (%s,%s,%s,%s,%s,'VND',%s,'bank_transfer',%s,%s,'bench',%s,'')",
                    batch,
                )
                cur.executemany(
                    "INSERT INTO donations_search (rowid, body) VALUES (%s, %s)", search
                )
            else:
                with cur.copy(
                    "COPY donations_donation (id, campaign_id, txn_id, public_ref,"
                    " amount_minor, received_at, display_name, memo_public, source_ref, currency,"
                    " channel, source, bank_ref) FROM STDIN"
                ) as copy:
                    for row in batch:
                        copy.write_row((*row, "VND", "bank_transfer", "bench", ""))
                with cur.copy("COPY donations_search (donation_id, body) FROM STDIN") as copy:
                    for row in search:
                        copy.write_row(row)
        batch.clear()
        search.clear()

    with connection.cursor() as cur:
        if vendor == "sqlite":
            cur.execute("PRAGMA foreign_keys=OFF")
        else:
            cur.execute("SET session_replication_role = replica")  # no FK checks in the bulk load
    for i, ref, amount, at, name, memo in _rows(gifts):
        shown = donor_publish("masked", name)
        stamp = connection.ops.adapt_datetimefield_value(at)
        batch.append((i, campaign.pk, i, ref, amount, stamp, shown, memo, str(i)))
        search.append((i, search_body(shown, memo, ref)))
        if len(batch) >= 20_000:
            flush()
    flush()
    with connection.cursor() as cur:
        if vendor == "postgresql":
            cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("ANALYZE")
    load_seconds = time.perf_counter() - t0

    def timed(fn, repeat: int) -> dict[str, float]:
        fn()
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        return {
            "p50_ms": round(samples[len(samples) // 2], 2),
            "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        }

    rng = random.Random(1)

    def baseline() -> None:
        start = rng.randrange(1, gifts - 60)
        list(
            Donation.objects.filter(pk__in=range(start, start + 50)).values(
                "id", "public_ref", "amount_minor"
            )
        )

    mid = datetime(2025, 9, 10, tzinfo=UTC)
    queries = {
        "newest first, no filter": StatementQuery(),
        "name 'nguyen van a' (dense words + short word)": StatementQuery(q="nguyen van a"),
        "name 'huynh thu dao' (sparse)": StatementQuery(q="huynh thu dao"),
        "reference": StatementQuery(ref=f"R{gifts // 2:011d}"),
        "reference typed in the search box": StatementQuery(q=f"R{gifts // 3:011d}"),
        "amount range 500,000-1,002,000, by amount": StatementQuery(
            min_minor=500_000, max_minor=1_002_000, sort="-amount"
        ),
        "exact rare amount 1,002,000, newest first": StatementQuery(
            min_minor=1_002_000, max_minor=1_002_000
        ),
        "date range + words": StatementQuery(q="ung ho", since=mid, until=mid + timedelta(days=1)),
    }
    results = {"bare baseline: 50 rows by primary key": timed(baseline, 50)}
    for name, query in queries.items():
        results[name] = timed(lambda q=query: donation_search(campaign=campaign, query=q), 30)
    # A deep page: cost does not grow with the page number (keyset).
    page = donation_search(campaign=campaign, query=StatementQuery())
    for _ in range(200):
        page = donation_search(campaign=campaign, query=StatementQuery(), cursor=page.next_cursor)
    cursor = page.next_cursor
    results["page 201 (keyset cursor)"] = timed(
        lambda: donation_search(campaign=campaign, query=StatementQuery(), cursor=cursor), 30
    )
    base = results["bare baseline: 50 rows by primary key"]["p99_ms"] or 0.01
    for r in results.values():
        r["p99_ratio_to_baseline"] = round(r["p99_ms"] / base, 1)
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    shutil.rmtree(home, ignore_errors=True)
    assert Campaign.objects is not None
    return {"gifts": gifts, "bulk_load_seconds": round(load_seconds, 1), "queries": results}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--gifts", type=int, default=2_000_000)
    p.add_argument("--demo-gifts", type=int, default=50_000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--skip-search", action="store_true")
    p.add_argument(
        "--pg",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
    )
    p.add_argument("--child", choices=("sqlite", "postgresql"))
    args = p.parse_args()
    if args.child:
        print(json.dumps(search_child(args.child, args.gifts, args.pg)))
        return
    out: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        }
    }
    if not args.skip_load:
        if shutil.which("wrk") is None:
            sys.exit("wrk is missing: apt-get install wrk")
        out["load"] = bench_load(args)
        print(json.dumps(out["load"], indent=2))
    if not args.skip_search:
        out["search"] = {}
        for vendor in ("sqlite", "postgresql"):
            if vendor == "postgresql":
                try:
                    import psycopg

                    psycopg.connect(args.pg, connect_timeout=3).close()
                except Exception as exc:
                    out["search"][vendor] = {"skipped": f"PostgreSQL not reachable: {exc}"}
                    continue
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    vendor,
                    "--gifts",
                    str(args.gifts),
                    "--pg",
                    args.pg,
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
            )
            out["search"][vendor] = json.loads(child.stdout.strip().splitlines()[-1])
            print(vendor, json.dumps(out["search"][vendor], indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
