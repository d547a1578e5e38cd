"""Benchmark: the floor of booking gifts into SQLite, the rows alone.

What booked gifts write, with every value computed before the clock starts, inserted with
`executemany` in transactions of 5,000 gifts (the import's batch) into the real schema
(`solidarity init`, triggers and indexes included), two ways in the same run:
- deposits (how imports book now): per batch one deposit journal transaction and its two
  postings; per gift the gift, its private row and its log entry; the search rows after the
  commit, as the indexer writes them (timed apart);
- per-gift transactions (before): per gift a journal transaction, two postings, the gift,
  its private row, its search row and its log entry.
Beside them: the bare `executemany` of one row per gift into an empty table with no index,
the baseline `bench_import.py` compares the whole import with.

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
from solidarity.core.privacy import public_ref_derive  # noqa: E402

RESULTS = HERE / "results" / "import_floor.json"
BATCH = 5000
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


def public_ref(i: int) -> str:
    """A public reference as the import derives them (a keyed hash: the gift's unique index
    on it takes each one at a random place; the log entry finds its gift by id)."""
    return public_ref_derive(b"bench", "bank:970436:0011001932418", str(i))


def _gift(i: int, memo: str, txn: int) -> tuple[object, ...]:
    ref = f"5213.{i:08d}"  # Vietcombank document numbers follow each other
    source = "bank:970436:0011001932418"
    return (i, public_ref(i), 200_000, "VND", AT, "bank_transfer", "NGUYEN VAN AN", memo,
            source, f"ref|{ref}|credit|200000VND|2025-08-25", ref, 1, 1, txn)  # fmt: skip


def _rows(n: int, entries: int, *, deposit: bool) -> dict[str, list[list[tuple[object, ...]]]]:
    """Every row n gifts write, per batch of BATCH gifts, values as the import writes them
    (sizes alike); the log already holds `entries` entries (the campaign's own).

    `deposit`: as imports book today, one deposit transaction (two postings) per batch whose
    lines are the gifts, and no search row (the indexer writes it after the commit). Else as
    they were booked before: a transaction, two postings and a search row per gift."""
    memo = "IBFT UNG HO CUBA NGUYEN VAN AN 09*****123"
    out: dict[str, list[list[tuple[object, ...]]]] = {t: [] for t in SQL}
    for b, start in enumerate(range(1, n + 1, BATCH), start=1):
        ids = range(start, min(n, start + BATCH - 1) + 1)
        if deposit:
            total = 200_000 * len(ids)
            out["txn"].append([(b, "deposit", AT, AT, f"{len(ids)} gifts", 1, None)])
            out["posting"].append([(2 * b - 1, total, "VND", 1, b), (2 * b, -total, "VND", 2, b)])
            out["search"].append([])
        else:
            out["txn"].append([(i, "donation", AT, AT, "", 1, None) for i in ids])
            out["posting"].append(
                [r for i in ids for r in ((2 * i - 1, 200_000, "VND", 1, i),
                                          (2 * i, -200_000, "VND", 2, i))]
            )  # fmt: skip
            words = "nguyen van an ibft ung ho cuba"
            out["search"].append([(i, f"{words} {public_ref(i)}") for i in ids])
        out["gift"].append([_gift(i, memo, b if deposit else i) for i in ids])
        out["private"].append(
            [(i, "NGUYEN VAN AN", "0011004567890", memo, os.urandom(16), f"{i:064x}", i,
              "IBFT UNG HO CUBA N*** V** A* 09*****123") for i in ids]
        )  # fmt: skip
        out["entry"].append(
            [
                (entries + i, "donation", public_ref(i), i, ENTRY, AT, 1, entries + i - 1)
                for i in ids
            ]
        )
    return out


SQL = {
    "txn": "INSERT INTO ledger_journaltransaction VALUES (?, ?, ?, ?, ?, ?, ?)",
    "posting": "INSERT INTO ledger_posting VALUES (?, ?, ?, ?, ?)",
    "gift": "INSERT INTO donations_donation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "private": "INSERT INTO donations_donationprivate VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "search": "INSERT INTO donations_search (rowid, body) VALUES (?, ?)",
    "entry": "INSERT INTO transparency_logentry "
    '(id, kind, ref, gift, body, created_at, campaign_id, "index") '
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
}


def floor(path: Path, rows: dict[str, list[list[tuple[object, ...]]]]) -> dict[str, float]:
    """Seconds spent per table (and in the commits), one transaction per batch."""
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
    per_table = dict.fromkeys(SQL, 0.0) | {"commit": 0.0}
    for b in range(len(rows["gift"])):
        db.execute("BEGIN IMMEDIATE")
        for table, sql in SQL.items():
            t = time.perf_counter()
            db.executemany(sql, rows[table][b])
            per_table[table] += time.perf_counter() - t
        t = time.perf_counter()
        db.execute("COMMIT")
        per_table["commit"] += time.perf_counter() - t
    db.close()
    return per_table


def search_after(path: Path, n: int) -> float:
    """Seconds to write the search rows of n gifts after their booking, as the indexer does
    (transactions of 5,000)."""
    db = sqlite3.connect(path, isolation_level=None)
    rows = [(i, f"nguyen van an ibft ung ho cuba r{i:011d}") for i in range(1, n + 1)]
    started = time.perf_counter()
    for start in range(0, n, 5000):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(SQL["search"], rows[start : start + 5000])
        db.execute("COMMIT")
    spent = time.perf_counter() - started
    db.close()
    return spent


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


def _layout(n: int, home: Path, *, deposit: bool) -> dict[str, object]:
    path = _schema(home)
    with sqlite3.connect(path) as db:
        (entries,) = db.execute("SELECT COUNT(*) FROM transparency_logentry").fetchone()
    rows = _rows(n, entries, deposit=deposit)
    per_row = {t: sum(len(b) for b in rows[t]) for t in SQL}
    spent = floor(path, rows)
    out: dict[str, object] = {
        "rows_per_gift": round(sum(per_row.values()) / n, 3),
        "seconds": round(sum(spent.values()), 2),
        "gifts_per_second": round(n / sum(spent.values())),
        "seconds_by_table": {k: round(v, 2) for k, v in spent.items()},
    }
    if deposit:
        search = search_after(path, n)
        out["search_after_seconds"] = round(search, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gifts", type=int, default=200_000)
    args = parser.parse_args()
    n = args.gifts
    load_before = [round(v, 2) for v in os.getloadavg()]
    with scratch_tree("bench-floor-") as tmp:
        deposits = _layout(n, Path(tmp) / "deposit", deposit=True)
        per_gift = _layout(n, Path(tmp) / "per-gift", deposit=False)
        base_s = baseline(Path(tmp) / "baseline.sqlite3", n)
    floor_s = float(deposits["seconds"])  # type: ignore[arg-type]
    result = {
        "benchmark": "import_floor",
        "what": "the rows booked gifts write, precomputed, executemany into the real schema",
        "gifts": n,
        "batch": BATCH,
        "rows_per_gift": deposits["rows_per_gift"],
        "floor_seconds": floor_s,
        "floor_gifts_per_second": round(n / floor_s),
        "baseline_seconds": round(base_s, 3),
        "baseline_rows_per_second": round(n / base_s),
        "floor_ratio": round(floor_s / base_s, 1),
        "deposits": deposits,
        "per_gift_transactions_before": per_gift,
        "load_average": {"before": load_before, "after": [round(v, 2) for v in os.getloadavg()]},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
