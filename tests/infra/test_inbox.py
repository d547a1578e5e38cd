"""The receivers' inbox: committed before put_many returns, each key once, oldest first, safe
for many threads and processes at once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from solidarity.infra.inbox import Inbox


def test_put_reports_new_keys_and_keeps_the_first_record(tmp_path):
    inbox = Inbox(tmp_path / "inbox")
    assert inbox.put_many([("a", {"n": 1}), ("b", {"n": 2}), ("a", {"n": 3})]) == [
        True,
        True,
        False,
    ]
    assert inbox.put_many([("b", {"n": 4}), ("c", {"n": 5})]) == [False, True]
    taken = inbox.take(10)
    assert [(key, record) for _, key, record in taken] == [
        ("a", {"n": 1}),
        ("b", {"n": 2}),
        ("c", {"n": 5}),
    ]


def test_take_is_oldest_first_and_only_remove_deletes(tmp_path):
    inbox = Inbox(tmp_path / "inbox")
    inbox.put_many([(str(i), {"i": i}) for i in range(5)])
    first = inbox.take(2)
    assert [r["i"] for _, _, r in first] == [0, 1]
    assert [r["i"] for _, _, r in inbox.take(2)] == [0, 1]  # taken, not removed: again
    inbox.remove([i for i, _, _ in first])
    assert [r["i"] for _, _, r in inbox.take(10)] == [2, 3, 4]
    assert inbox.count() == 3
    # A key removed may come again (the caller's own store ignores the second copy).
    assert inbox.put_many([("0", {"i": 0})]) == [True]


def test_what_was_put_survives_a_new_process_opening_the_file(tmp_path):
    Inbox(tmp_path / "inbox").put_many([("k", {"body": "Ủng hộ Cuba"})])
    again = Inbox(tmp_path / "inbox")
    assert [(k, r) for _, k, r in again.take(5)] == [("k", {"body": "Ủng hộ Cuba"})]


def _put_range(path: str, start: int, count: int) -> int:
    inbox = Inbox(Path(path))
    return sum(sum(inbox.put_many([(f"k{i}", {"i": i})])) for i in range(start, start + count))


def test_threads_and_processes_writing_at_once_store_each_key_once(tmp_path):
    path = tmp_path / "inbox"
    Inbox(path).put_many([("warm", {})])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        # Two processes and four threads, overlapping ranges of keys
        procs = [pool.apply_async(_put_range, (str(path), s, 300)) for s in (0, 150)]
        shared = Inbox(path)
        with ThreadPoolExecutor(max_workers=4) as threads:
            counts = list(
                threads.map(
                    lambda s: sum(
                        sum(shared.put_many([(f"k{i}", {"i": i})])) for i in range(s, s + 100)
                    ),
                    (0, 100, 200, 350),
                )
            )
        total_new = sum(p.get(60) for p in procs) + sum(counts)
    keys = [k for _, k, _ in Inbox(path).take(10_000)]
    assert len(keys) == len(set(keys)) == 451  # k0..k449 and "warm"
    assert total_new == 450  # each key reported new exactly once
