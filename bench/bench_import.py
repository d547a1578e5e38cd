"""Benchmark: import a generated national-scale statement with `solidarity import`.

Generates a Vietcombank-like CSV with bench/gen_statement.py (not timed), then, in the same
run and on the same machine:

- import: `solidarity import FILE --json` in a fresh SOLIDARITY_HOME after `solidarity init`
  (SQLite; PostgreSQL too with --postgres URL), timed end to end, peak RSS of that process
  (resource.getrusage(RUSAGE_SELF) inside it) and the largest of its children (RUSAGE_CHILDREN:
  the pass-1 parser, then the process preparing gifts beside the writer); then
  `solidarity search index`, timed apart: the time until search has caught up (the indexer
  under `serve` does the same within seconds of each commit);
- baseline: a bare `executemany` of the same rows (account, date, doc no, direction, amount,
  memo) into an empty SQLite table, one transaction (on PostgreSQL: COPY into an empty
  table);
- parse only: the statement parser alone over the same file (where the time goes);
- ratio = import seconds / baseline seconds.

    .venv/bin/python bench/bench_import.py                 # 1.7 million rows
    .venv/bin/python bench/bench_import.py --rows 20000    # a quick run
    .venv/bin/python bench/bench_import.py --rows 200000 \
        --postgres postgres://postgres@127.0.0.1:5432/benchimport   # SQLite, then PostgreSQL

With --postgres the named database is the bench's own: dropped and created before the run,
dropped after it. os.getloadavg() is recorded before and after each import (other work on
the machine shows in every number).

JSON lands in bench/results/import.json. No assertion on time: the numbers are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from gen_statement import ACCOUNT, statement_rows, statement_write  # noqa: E402
from scratch import scratch_tree  # noqa: E402

BIN = "970436"  # Vietcombank
SOL = [sys.executable, "-m", "solidarity.cli"]
# `solidarity` itself, reporting its own peak RSS (RUSAGE_SELF) to the file in $BENCH_RSS.
SOL_MEASURED = [
    sys.executable,
    "-c",
    "import os, resource, sys\n"
    "from solidarity.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(os.environ['BENCH_RSS'], 'w').write(f'{rss} {child}')\n"
    "sys.exit(code)\n",
]


def _run(
    env: dict[str, str], *args: str, measured: bool = False
) -> subprocess.CompletedProcess[str]:
    command = SOL_MEASURED if measured else SOL
    result = subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, check=False, timeout=7200
    )
    if result.returncode != 0:
        raise SystemExit(f"solidarity {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def load_average() -> list[float]:
    """os.getloadavg() rounded: other work on the machine shows in every number here."""
    return [round(v, 2) for v in os.getloadavg()]


def _pg_admin_url(url: str) -> tuple[str, str]:
    """(URL of the maintenance database `postgres` on that server, the database's name)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        raise SystemExit(f"--postgres {url}: name a scratch database, not {name or 'none'}")
    return urlunsplit(parts._replace(path="/postgres")), name


def pg_database_reset(url: str, *, create: bool) -> None:
    """Drop the bench's own database (and create it again when `create`)."""
    import psycopg  # noqa: PLC0415 - only with --postgres
    from psycopg import sql  # noqa: PLC0415

    admin, name = _pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def import_run(path: Path, home: Path, database_url: str | None) -> dict[str, object]:
    env = {**os.environ, "SOLIDARITY_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    _run(env, "init", "--no-static")
    slug = f"bench-{int(time.time())}"
    _run(
        env,
        "campaign",
        "create",
        "--slug",
        slug,
        "--code",
        "CUBA",
        "--name",
        "Vì Cuba",
        "--goal",
        "65000000000",
        "--days",
        "65",
        "--opens",
        "2025-08-14T00:00+07:00",
        "--account",
        f"{BIN}:{ACCOUNT}:HOI CHU THAP DO VIET NAM",
        "--keyword",
        "Cu Ba",
    )
    _run(env, "campaign", "open", slug)
    env["BENCH_RSS"] = str(home / "rss")
    load_before = load_average()
    started = time.perf_counter()
    result = _run(env, "import", str(path), "--json", measured=True)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    _run(env, "search", "index")
    search_seconds = time.perf_counter() - started
    load_after = load_average()
    rss_kb, parser_kb = (int(v) for v in (home / "rss").read_text().split())
    report = json.loads(result.stdout)["files"][0]
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(report["rows_read"] / seconds),
        "search_caught_up_seconds": round(search_seconds, 2),
        "seconds_until_searchable": round(seconds + search_seconds, 2),
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "parser_process_peak_rss_mb": round(parser_kb / 1024, 1),
        "report": {k: v for k, v in report.items() if k not in ("errors", "sha256")},
        "load_average": {"before": load_before, "after": load_after},
    }


def _row_chunks(rows: int, seed: int, days: int, size: int = 100_000):
    chunk = []
    for r in statement_rows(rows=rows, seed=seed, days=days):
        chunk.append(
            (ACCOUNT, r.booked_at.date().isoformat(), r.doc, r.direction, r.amount, r.memo)
        )
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def baseline_sqlite(rows: int, seed: int, days: int, directory: Path) -> float:
    """Seconds for a bare executemany of the same rows into an empty SQLite table."""
    db = sqlite3.connect(directory / "baseline.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE line (account TEXT, day TEXT, doc TEXT, direction TEXT, "
        "amount INTEGER, memo TEXT)"
    )
    spent = 0.0
    db.execute("BEGIN")
    for chunk in _row_chunks(rows, seed, days):
        started = time.perf_counter()
        db.executemany("INSERT INTO line VALUES (?, ?, ?, ?, ?, ?)", chunk)
        spent += time.perf_counter() - started
    started = time.perf_counter()
    db.execute("COMMIT")
    spent += time.perf_counter() - started
    db.close()
    return spent


def baseline_postgres(rows: int, seed: int, days: int, url: str) -> float:
    """Seconds for COPY of the same rows into an empty PostgreSQL table."""
    import psycopg  # noqa: PLC0415 - only with --postgres

    spent = 0.0
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_import_line")
        conn.execute(
            "CREATE TABLE bench_import_line (account text, day date, doc text, "
            "direction text, amount bigint, memo text)"
        )
        with conn.cursor() as cur:
            for chunk in _row_chunks(rows, seed, days):
                started = time.perf_counter()
                with cur.copy(
                    "COPY bench_import_line (account, day, doc, direction, amount, memo) FROM STDIN"
                ) as copy:
                    for row in chunk:
                        copy.write_row(row)
                spent += time.perf_counter() - started
        started = time.perf_counter()
        conn.commit()
        spent += time.perf_counter() - started
        conn.execute("DROP TABLE bench_import_line")
        conn.commit()
    return spent


def parse_only(path: Path) -> float:
    code = (
        "import sys, time\n"
        "from solidarity.core.statements import statement_read\n"
        "t = time.perf_counter()\n"
        "n = sum(1 for _ in statement_read(sys.argv[1], name='x'))\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_700_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL", help="also import into this PostgreSQL")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "import.json")
    args = parser.parse_args()

    load_start = load_average()
    with scratch_tree("bench-import-") as tmp:
        work = Path(tmp)
        statement = work / "statement.csv"
        started = time.perf_counter()
        n = statement_write(statement, rows=args.rows, seed=args.seed, days=args.days)
        print(f"generated {n:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        parse_seconds = parse_only(statement)
        print(f"parse only: {parse_seconds:.1f}s", file=sys.stderr)
        base = baseline_sqlite(n, args.seed, args.days, work)
        print(f"baseline executemany: {base:.2f}s", file=sys.stderr)
        sqlite_run = import_run(statement, work / "home", None)
        print(f"import (SQLite): {sqlite_run}", file=sys.stderr)
        results: dict[str, object] = {
            "rows": n,
            "file_mb": round(statement.stat().st_size / 2**20, 1),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_start": load_start,
            },
            "command": " ".join(sys.argv[1:]) or "(defaults)",
            "target": {
                "sqlite_rows_per_second": 25_000,
                "postgres_rows_per_second": 15_000,
                "peak_rss_mb": 300,
            },
            "parse_only": {
                "seconds": round(parse_seconds, 2),
                "rows_per_second": round(n / parse_seconds),
            },
            "sqlite": {
                **sqlite_run,
                "baseline_executemany_seconds": round(base, 3),
                "baseline_rows_per_second": round(n / base),
                "ratio": round(float(sqlite_run["seconds"]) / base, 1),  # type: ignore[arg-type]
            },
        }
        if args.postgres:
            pg_database_reset(args.postgres, create=True)
            try:
                base_pg = baseline_postgres(n, args.seed, args.days, args.postgres)
                pg_run = import_run(statement, work / "home-pg", args.postgres)
            finally:
                pg_database_reset(args.postgres, create=False)
            results["postgres"] = {
                **pg_run,
                "baseline_copy_seconds": round(base_pg, 3),
                "baseline_rows_per_second": round(n / base_pg),
                "ratio": round(float(pg_run["seconds"]) / base_pg, 1),  # type: ignore[arg-type]
            }
        results["load_average_end"] = load_average()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
