"""GroupCommit: many threads' writes in one, each caller gets its own result or the error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from solidarity.core.batching import batched
from solidarity.infra.group_commit import GroupCommit


def test_batched_splits_and_refuses_a_zero_size():
    assert list(batched(range(5), 2)) == [(0, 1), (2, 3), (4,)]
    with pytest.raises(ValueError, match="at least 1"):
        list(batched([1], 0))


def test_a_lone_caller_writes_its_own_item_at_once():
    calls: list[list[int]] = []
    group = GroupCommit(lambda items: calls.append(list(items)) or [i * 10 for i in items])
    assert group.submit(1) == 10
    assert group.submit(2) == 20
    assert calls == [[1], [2]]


def test_callers_arriving_during_a_write_share_the_next_one():
    calls: list[list[int]] = []
    release = threading.Event()
    first_started = threading.Event()

    def write(items: list[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            first_started.set()
            assert release.wait(10)
        return [i * 10 for i in items]

    group = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=6) as pool:
        # Given one write under way
        leader = pool.submit(group.submit, 0)
        assert first_started.wait(10)
        # When five callers arrive meanwhile
        followers = [pool.submit(group.submit, i) for i in range(1, 6)]
        while len(group._pending) < 5:  # all five queued behind the running write
            threading.Event().wait(0.001)
        release.set()
        # Then each gets its own result, and the five went in one write
        assert leader.result(10) == 0
        assert [f.result(10) for f in followers] == [10, 20, 30, 40, 50]
    assert calls[0] == [0]
    assert sorted(calls[1]) == [1, 2, 3, 4, 5]
    assert len(calls) == 2


def test_an_error_reaches_every_caller_of_its_batch_and_no_later_one():
    fail = [True]

    def write(items: list[int]) -> list[int]:
        if fail[0]:
            raise RuntimeError("database gone")
        return items

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="database gone"):
        group.submit(1)
    fail[0] = False
    assert group.submit(2) == 2


def test_a_write_must_answer_every_item_and_batches_are_bounded():
    group = GroupCommit(lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="0 results for 1"):
        group.submit(1)
    seen: list[int] = []
    release = threading.Event()

    def slow(items: list[int]) -> list[int]:
        seen.append(len(items))
        release.wait(10)
        return items

    bounded = GroupCommit(slow, max_batch=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(bounded.submit, i) for i in range(8)]
        while sum(seen) + len(bounded._pending) < 8:
            threading.Event().wait(0.001)
        release.set()
        assert sorted(f.result(10) for f in futures) == list(range(8))
    assert max(seen) <= 3
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(lambda items: items, max_batch=0)


def test_many_threads_each_get_their_own_result_and_every_item_is_written_once():
    written: list[int] = []
    lock = threading.Lock()

    def write(items: list[int]) -> list[int]:
        with lock:
            written.extend(items)
        threading.Event().wait(0.0005)  # a commit takes a little while
        return [i * 10 for i in items]

    group = GroupCommit(write, max_batch=7)

    def caller(base: int) -> list[tuple[int, int]]:
        return [(i, group.submit(i)) for i in range(base, base + 200)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [
            pair for f in [pool.submit(caller, t * 1000) for t in range(8)] for pair in f.result(60)
        ]
    assert all(result == i * 10 for i, result in answers)
    assert sorted(written) == sorted(i for i, _ in answers)
    assert len(written) == len(set(written)) == 1600
