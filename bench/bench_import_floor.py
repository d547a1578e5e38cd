"""Benchmark: the floor of booking gifts into SQLite, the rows alone.

What a booked gift writes (a journal transaction and its two postings, the gift, its private
row, its search row, its log entry, and every index on them), with every value computed
before the clock starts, inserted with `executemany` in transactions of 2,000 gifts (the
import's batch) into the real schema (`solidarity init`, triggers and indexes included). Beside
it, in the same run: the bare `executemany` of one row per gift into an empty table with no
index, the baseline `bench_import.py` compares the whole import with.

floor / baseline is the least ratio any import with this data model can reach, before
reading a file, matching, masking, or computing a commitment or a log entry.

    .venv/bin/python bench/bench_import_floor.py [--gifts 200000]

JSON lands in bench/results/import_floor.json. No assertion on time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scratch import scratch_tree  # noqa: E402

RESULTS = HERE / "results" / "import_floor.json"
BATCH = 2000
AT = "2025-08-25 07:02:37"


def _schema(home: Path) -> Path:
    env = {**os.environ, "SOLIDARITY_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    sol = [sys.executable, "-m", "solidarity.cli"]
    for args in (
        ["init", "--no-static"],
        ["campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
         "--goal", "65000000000", "--days", "65", "--opens", "2025-08-14T00:00+07:00",
         "--account", "970436:0011001932418:HOI CTD"],
    ):  # fmt: skip
        subprocess.run([*sol, *args], env=env, check=True, capture_output=True)
    return home / "solidarity.sqlite3"


ENTRY = b'{"kind":"donation","amount":200000}' + bytes(230)  # a log entry's size


def _gift(i: int, memo: str) -> tuple[object, ...]:
    ref = f"FT25237{i:08d}"
    source = "bank:970436:0011001932418"
    return (i, f"R{i:011d}", 200_000, "VND", AT, "bank_transfer", "NGUYEN VAN AN", memo,
            source, f"csv:{i:08d}:{ref}", ref, 1, 1, i)  # fmt: skip


def _rows(n: int, entries: int) -> dict[str, list[tuple[object, ...]]]:
    """Every row n gifts write, values as the import writes them (sizes alike); the log
    already holds `entries` entries (the campaign's own)."""
    memo = "IBFT UNG HO CUBA NGUYEN VAN AN 09*****123"
    return {
        "txn": [(i, "donation", AT, AT, "", 1, None) for i in range(1, n + 1)],
        "posting": [
            row
            for i in range(1, n + 1)
            for row in ((2 * i - 1, 200_000, "VND", 1, i), (2 * i, -200_000, "VND", 2, i))
        ],
        "gift": [_gift(i, memo) for i in range(1, n + 1)],
        "private": [
            (i, "NGUYEN VAN AN", "0011004567890", memo, os.urandom(16), f"{i:064x}", i)
            for i in range(1, n + 1)
        ],
        "search": [(i, f"nguyen van an ibft ung ho cuba r{i:011d}") for i in range(1, n + 1)],
        "entry": [
            (entries + i, "donation", f"R{i:011d}", ENTRY, AT, 1, entries + i - 1)
            for i in range(1, n + 1)
        ],
    }


SQL = {
    "txn": "INSERT INTO ledger_journaltransaction VALUES (?, ?, ?, ?, ?, ?, ?)",
    "posting": "INSERT INTO ledger_posting VALUES (?, ?, ?, ?, ?)",
    "gift": "INSERT INTO donations_donation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "private": "INSERT INTO donations_donationprivate VALUES (?, ?, ?, ?, ?, ?, ?)",
    "search": "INSERT INTO donations_search (rowid, body) VALUES (?, ?)",
    "entry": "INSERT INTO transparency_logentry "
    '(id, kind, ref, body, created_at, campaign_id, "index") VALUES (?, ?, ?, ?, ?, ?, ?)',
}
PER_GIFT = {"txn": 1, "posting": 2, "gift": 1, "private": 1, "search": 1, "entry": 1}


def floor(path: Path, rows: dict[str, list[tuple[object, ...]]], n: int) -> dict[str, float]:
    """Seconds spent per table (and in the commits)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA cache_size=-65536")
    accounts = db.execute("SELECT id FROM ledger_ledgeraccount").fetchall()
    if len(accounts) < 2:  # the campaign's fund account and the bank's
        db.executemany(
            "INSERT INTO ledger_ledgeraccount (code, campaign_id, created_at) VALUES (?, 1, ?)",
            [("asset:bank:970436:0011001932418", AT), ("fund:cuba", AT)][: 2 - len(accounts)],
        )
    per_table = dict.fromkeys(PER_GIFT, 0.0) | {"commit": 0.0}
    for start in range(0, n, BATCH):
        db.execute("BEGIN IMMEDIATE")
        for table, k in PER_GIFT.items():
            t = time.perf_counter()
            db.executemany(SQL[table], rows[table][start * k : (start + BATCH) * k])
            per_table[table] += time.perf_counter() - t
        t = time.perf_counter()
        db.execute("COMMIT")
        per_table["commit"] += time.perf_counter() - t
    db.close()
    return per_table


def baseline(path: Path, n: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE line (account TEXT, day TEXT, doc TEXT, direction TEXT, "
               "amount INTEGER, memo TEXT)")  # fmt: skip
    rows = [("0011001932418", "2025-08-25", f"FT{i}", "C", 200_000, "UNG HO CUBA")
            for i in range(n)]  # fmt: skip
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO line VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    spent = time.perf_counter() - started
    db.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gifts", type=int, default=200_000)
    args = parser.parse_args()
    n = args.gifts
    with scratch_tree("bench-floor-") as tmp:
        path = _schema(Path(tmp) / "home")
        with sqlite3.connect(path) as db:
            (entries,) = db.execute("SELECT COUNT(*) FROM transparency_logentry").fetchone()
        rows = _rows(n, entries)
        spent = floor(path, rows, n)
        floor_s = sum(spent.values())
        base_s = baseline(Path(tmp) / "baseline.sqlite3", n)
    result = {
        "benchmark": "import_floor",
        "what": "the rows a booked gift writes, precomputed, executemany into the real schema",
        "gifts": n,
        "rows_per_gift": sum(PER_GIFT.values()),
        "floor_seconds": round(floor_s, 2),
        "floor_gifts_per_second": round(n / floor_s),
        "baseline_seconds": round(base_s, 3),
        "baseline_rows_per_second": round(n / base_s),
        "floor_ratio": round(floor_s / base_s, 1),
        "floor_seconds_by_table": {k: round(v, 2) for k, v in spent.items()},
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
