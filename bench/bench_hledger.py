"""Benchmark: Solidarity against a peer, hledger, on the same Vietcombank statement.

Generates a CSV in the Vietcombank export layout (`TNXDate,DocNo,Debit,Credit,Balance,
Transactions in Detail`, dates DD/MM/YYYY, amounts like `2.000.000`, memos of 60-200
characters, document numbers repeated within a day) from bench/gen_statement.py's rows (not
timed). Then, in the same run and on the same machine, one after the other:

- Solidarity: `solidarity import FILE --account 970436:<number> --json` into a fresh SQLite
  installation with one open campaign on that account, end to end, peak RSS of the process
  and of its children (the parsing and preparing processes); then `solidarity search index`
  (the time until search has caught up);
- hledger: `hledger -f FILE --rules-file R balance`, the rules file giving
  `fields date, code, amount-out, amount-in, bal, description` and `decimal-mark ,`, peak RSS.

Both balances must agree: hledger's bank account total against ours (the bank account's
postings, less returned transfers that wait for their gift and so are not posted yet).
ratio = hledger seconds / Solidarity seconds (the target is at least 5).

    .venv/bin/python bench/bench_hledger.py                # 200,000 rows
    .venv/bin/python bench/bench_hledger.py --rows 20000   # a quick run

JSON lands in bench/results/hledger.json. os.getloadavg() is recorded around each run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_import import SOL, SOL_MEASURED, load_average  # noqa: E402
from gen_statement import ACCOUNT, statement_rows  # noqa: E402
from scratch import scratch_tree  # noqa: E402

BIN = "970436"
HLEDGER = os.environ.get("HLEDGER", "/usr/bin/hledger")
RULES = """\
skip 1
fields date, code, amount-out, amount-in, bal, description
date-format %d/%m/%Y
decimal-mark ,
currency VND
account1 assets:bank:vcb
account2 income:gifts
"""
FILLER = (
    "Ung ho dong bao va nhan dan Cu Ba vuot qua kho khan chuc moi dieu tot dep den "
    "nhan dan Cuba anh em tinh huu nghi Viet Nam Cu Ba mai mai ben vung "
)


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def vietcombank_write(path: Path, *, rows: int, seed: int, days: int) -> int:
    """The Vietcombank export layout; returns the rows written."""
    rng = random.Random(seed + 1)
    balance = 1_000_000_000
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("TNXDate,DocNo,Debit,Credit,Balance,Transactions in Detail\n")
        for r in statement_rows(rows=rows, seed=seed, days=days):
            memo = r.memo
            want = rng.randint(60, 200)
            if len(memo) < want:
                start = rng.randrange(len(FILLER) // 2)
                memo = (memo + " " + FILLER[start:] + FILLER)[:want].rstrip()
            memo = memo[:200]
            balance += r.amount if r.direction == "credit" else -r.amount
            debit, credit = (_vnd(r.amount), "") if r.direction == "debit" else ("", _vnd(r.amount))
            out.write(
                f"{r.booked_at:%d/%m/%Y},{r.doc},{debit},{credit},{_vnd(balance)},{_cell(memo)}\n"
            )
            n += 1
    return n


def _measured(
    env: dict[str, str], command: list[str], rss_file: Path
) -> tuple[float, int, int, str]:
    """(seconds, peak RSS kB of the process, of its children, stdout)."""
    env = {**env, "BENCH_RSS": str(rss_file)}
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=7200
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout}{done.stderr}")
    rss, child = (int(v) for v in rss_file.read_text().split())
    return seconds, rss, child, done.stdout


def solidarity_run(path: Path, home: Path) -> dict[str, object]:
    env = {**os.environ, "SOLIDARITY_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    for args in (
        ["init", "--no-static"],
        ["campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Vì Cuba",
         "--goal", "65000000000", "--days", "65", "--opens", "2025-08-14T00:00+07:00",
         "--account", f"{BIN}:{ACCOUNT}:HOI CHU THAP DO VIET NAM", "--keyword", "Cu Ba"],
        ["campaign", "open", "cuba"],
    ):  # fmt: skip
        subprocess.run([*SOL, *args], env=env, check=True, capture_output=True)
    before = load_average()
    seconds, rss, child, out = _measured(
        env,
        [*SOL_MEASURED, "import", str(path), "--account", f"{BIN}:{ACCOUNT}", "--json"],
        home / "rss",
    )
    report = json.loads(out)["files"][0]
    started = time.perf_counter()
    subprocess.run([*SOL, "search", "index"], env=env, check=True, capture_output=True)
    search_seconds = time.perf_counter() - started
    after = load_average()
    db = sqlite3.connect(home / "solidarity.sqlite3")
    (posted,) = db.execute(
        "SELECT COALESCE(SUM(p.amount_minor), 0) FROM ledger_posting p JOIN ledger_ledgeraccount a"
        " ON a.id = p.account_id WHERE a.code = ?",
        [f"asset:bank:{BIN}:{ACCOUNT}"],
    ).fetchone()
    (waiting,) = db.execute(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM imports_pendingreversal"
        " WHERE resolved_at IS NULL"
    ).fetchone()
    db.close()
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(report["rows_read"] / seconds),
        "search_caught_up_seconds": round(search_seconds, 2),
        "peak_rss_mb": round(rss / 1024, 1),
        "children_peak_rss_mb": round(child / 1024, 1),
        "balance": int(posted) - int(waiting),
        "report": {k: v for k, v in report.items() if k not in ("errors", "sha256", "warnings")},
        "load_average": {"before": before, "after": after},
    }


def hledger_run(path: Path, work: Path) -> dict[str, object]:
    rules = work / "vietcombank.rules"
    rules.write_text(RULES)
    version = subprocess.run([HLEDGER, "--version"], capture_output=True, text=True, check=True)
    wrapper = [
        sys.executable, "-c",
        "import os, resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr)\n"
        "child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "open(os.environ['BENCH_RSS'], 'w').write(f'{child} 0')\n"
        "sys.exit(done.returncode)\n",
    ]  # fmt: skip
    before = load_average()
    seconds, rss, _, out = _measured(
        dict(os.environ),
        [*wrapper, HLEDGER, "-f", str(path), "--rules-file", str(rules), "balance",
         "assets:bank", "-N", "--no-elide"],
        work / "hledger-rss",
    )  # fmt: skip
    after = load_average()
    match = re.search(r"(-?[\d.,]+)\s*VND|VND\s*(-?[\d.,]+)", out)
    if match is None:
        raise SystemExit(f"no balance in hledger's output:\n{out}")
    text = match.group(1) or match.group(2)
    return {
        "version": version.stdout.strip(),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(rss / 1024, 1),
        "balance": int(re.sub(r"[.,]", "", text.split(",")[0] if "," in text[-3:] else text)),
        "output": out.strip(),
        "load_average": {"before": before, "after": after},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hledger.json")
    args = parser.parse_args()
    load_start = load_average()
    with scratch_tree("bench-hledger-") as tmp:
        work = Path(tmp)
        statement = work / "vietcombank.csv"
        n = vietcombank_write(statement, rows=args.rows, seed=args.seed, days=args.days)
        ours = solidarity_run(statement, work / "home")
        print(f"solidarity: {ours}", file=sys.stderr)
        peer = hledger_run(statement, work)
        print(f"hledger: {peer}", file=sys.stderr)
        results = {
            "rows": n,
            "file_mb": round(statement.stat().st_size / 2**20, 1),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_start": load_start,
            },
            "command": " ".join(sys.argv[1:]) or "(defaults)",
            "target": {"ratio": 5},
            "solidarity": ours,
            "hledger": peer,
            "balances_agree": ours["balance"] == peer["balance"],
            "ratio": round(float(peer["seconds"]) / float(ours["seconds"]), 2),  # type: ignore[arg-type]
            "load_average_end": load_average(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    if not results["balances_agree"]:
        raise SystemExit("the balances differ")


if __name__ == "__main__":
    main()
