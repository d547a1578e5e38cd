"""The public pages' process cache: one computation per key at a time, stale values served
meanwhile, and waiting (not computing again) when there is no value yet."""

import threading
import time

import pytest
from django.core.cache import cache

from solidarity.apps.public import caching
from solidarity.apps.public.caching import cached


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _blocked_compute(value, calls, go):
    def compute():
        calls.append(threading.get_ident())
        assert go.wait(10)
        return value

    return compute


def _first_computing(key, compute, results):
    first = threading.Thread(target=lambda: results.append(cached(key, 60, compute)))
    first.start()
    for _ in range(1000):
        if key in caching._inflight:
            return first
        time.sleep(0.005)
    raise AssertionError("the first request never started computing")


def test_a_cold_key_asked_by_many_threads_at_once_is_computed_once():
    # Given: a key with no value yet, being computed by one request
    calls, go, results = [], threading.Event(), []
    compute = _blocked_compute("page", calls, go)
    first = _first_computing("k", compute, results)
    # When: fifteen more requests ask for it while it is computed
    others = [
        threading.Thread(target=lambda: results.append(cached("k", 60, compute))) for _ in range(15)
    ]
    for t in others:
        t.start()
    time.sleep(0.1)
    go.set()
    for t in [first, *others]:
        t.join(10)
    # Then: one computation, and every request has its value
    assert len(calls) == 1
    assert results == ["page"] * 16


def test_a_stale_key_is_served_stale_while_one_thread_recomputes_it():
    cache.set("k", ("old", time.monotonic() - 1), 600)
    calls, go, results = [], threading.Event(), []
    compute = _blocked_compute("new", calls, go)
    first = _first_computing("k", compute, results)
    # While the first recomputes, the others are answered at once with the stale value.
    stale = [cached("k", 60, compute) for _ in range(5)]
    assert stale == ["old"] * 5
    go.set()
    first.join(10)
    assert results == ["new"] and len(calls) == 1
    assert cached("k", 60, compute) == "new"


def test_a_value_inside_a_value_being_recomputed_is_recomputed_too():
    # Given: a stale page whose stale charts are computed inside it
    cache.set("page", ("old page", time.monotonic() - 1), 600)
    cache.set("charts", ("old charts", time.monotonic() - 1), 600)
    # When: the page is recomputed
    page = cached("page", 60, lambda: "page with " + cached("charts", 60, lambda: "new charts"))
    # Then: so are the charts (each key has its own flight)
    assert page == "page with new charts"


def test_a_failed_first_computation_lets_a_waiting_thread_compute_its_own():
    go, results, errors = threading.Event(), [], []

    def failing():
        assert go.wait(10)
        raise LookupError("no such campaign")

    def failing_first():
        try:
            cached("k", 60, failing)
        except LookupError as exc:
            errors.append(exc)

    first = threading.Thread(target=failing_first)
    first.start()
    while "k" not in caching._inflight:
        time.sleep(0.005)
    waiter = threading.Thread(target=lambda: results.append(cached("k", 60, lambda: "page")))
    waiter.start()
    time.sleep(0.05)
    go.set()
    first.join(10)
    waiter.join(10)
    assert len(errors) == 1 and results == ["page"]
    assert caching._inflight == {}
