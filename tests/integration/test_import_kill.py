"""Exactly once under SIGKILL: `solidarity import` killed at random instants and run again
until it finishes books the same totals as one clean import (SQLite, own SOLIDARITY_HOME)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench.gen_statement import statement_write
from django.db import connection


def _home(tmp: Path, name: str):
    env = {**os.environ, "SOLIDARITY_HOME": str(tmp / name)}
    env.pop("DATABASE_URL", None)

    def sol(*args: str, code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "solidarity.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == code, done.stdout + done.stderr
        return done.stdout

    sol("init", "--no-static")
    sol(
        "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
        "--goal", "1000000000", "--days", "65", "--opens", "2025-08-14T00:00+07:00",
        "--account", "970436:0011001932418",
    )  # fmt: skip
    sol("campaign", "open", "cuba")
    return sol, env


def _state(sol) -> dict:
    totals = json.loads(sol("campaign", "totals", "cuba", "--json"))
    reviews = json.loads(sol("review", "list", "--status", "all", "--json"))
    check = json.loads(sol("ledger", "check", "--json"))
    assert check["ok"], check["problems"]
    return {"totals": totals, "reviews": len(reviews)}


@pytest.mark.slow
def _importing(statement: Path) -> list[int]:
    """Pids of live processes importing `statement` (zombies, already dead, are not)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(statement).encode() in argv and b"import" in argv and state != "Z":
            found.append(int(proc.name))
    return found


def test_import_killed_at_random_instants_then_rerun_books_exactly_once(tmp_path: Path):
    if connection.vendor != "sqlite":
        pytest.skip("runs once, on SQLite (its own SOLIDARITY_HOME)")
    statement = tmp_path / "cuba.csv"
    statement_write(statement, rows=2500, seed=11, days=3)
    # Given a clean import of the statement in one installation
    clean_sol, _ = _home(tmp_path, "clean")
    started = time.monotonic()
    clean_sol("import", str(statement))
    duration = time.monotonic() - started
    clean = _state(clean_sol)
    # When another installation's import is killed with SIGKILL at random instants (on a
    # loaded machine an import can finish before its instant: then a fresh installation is
    # tried with earlier instants, so that at least one kill lands mid-import)
    rng = random.Random(20250825)
    kills = 0
    for attempt in range(6):
        sol, env = _home(tmp_path, f"killed-{attempt}")
        for _ in range(3):
            process = subprocess.Popen(
                [sys.executable, "-m", "solidarity.cli", "import", str(statement)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # at a random instant within what a whole import takes on this machine
            time.sleep(rng.uniform(0.1, 0.9) * duration / 2**attempt)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
        if kills:
            break
    # and nothing of a killed import keeps running (its preparing process stops on its own)
    deadline = time.monotonic() + 10
    while _importing(statement) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _importing(statement) == []
    # and then run until it completes
    sol("import", str(statement))
    # Then the books equal the clean import's, and a further run finds only duplicates
    assert kills >= 1
    assert _state(sol) == clean
    again = json.loads(sol("import", str(statement), "--json"))["files"][0]
    assert again["booked"] == again["not_gifts"] == 0
    assert again["duplicates"] + again["reversals_pending"] == again["rows_read"] == 2500


def test_an_import_killed_while_it_parses_leaves_no_process_behind(tmp_path: Path):
    # Given an import whose preparing process has started (it is forked as parsing begins
    # and follows the spool until the parser accepts the whole file)
    statement = tmp_path / "big.csv"
    statement_write(statement, rows=60_000, seed=5, days=3)
    _sol, env = _home(tmp_path, "killed-parsing")
    process = subprocess.Popen(
        [sys.executable, "-m", "solidarity.cli", "import", str(statement)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while len(_importing(statement)) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "the preparing process never started"
        time.sleep(0.01)
    # When the importing process is killed before the file is accepted
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Then the preparing process stops on its own, instead of waiting for the spool forever
    deadline = time.monotonic() + 10
    while _importing(statement) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _importing(statement) == []
