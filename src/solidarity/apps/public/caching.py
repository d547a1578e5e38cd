"""Stale-while-revalidate in the process cache, single-flight per key: while one thread
computes a key, the others keep serving its previous value, or, when there is none yet (a
worker's first request, an expired entry), wait for that one computation instead of running
their own. So neither an expiry nor a worker's cold start stalls every request at once:
sixteen threads asking a cold worker for a campaign page of two million gifts once ran its
chart aggregates sixteen times over, for tens of seconds.

Keys are independent: a page being recomputed does not keep the charts inside it from being
recomputed when they are stale (they are computed under their own key).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
KEEP_SECONDS = 600  # how long a stale value may still be served while it is recomputed
WAIT_SECONDS = 60.0  # the longest a request waits for another's first computation of a key

_guard = threading.Lock()
# The keys being computed now, each with the event its computation sets when it ends (so
# the map holds at most one entry per busy thread, whatever keys are asked for).
_inflight: dict[str, threading.Event] = {}


def cached(key: str, fresh_seconds: float, compute: Callable[[], T]) -> T:
    """`compute()`'s value, at most `fresh_seconds` old unless another thread is computing it
    again; computed by one thread at a time per key. An exception from `compute` reaches its
    caller; a thread that waited for it then computes the value itself."""
    entry = cache.get(key)
    if entry is not None and entry[1] > time.monotonic():
        return entry[0]  # type: ignore[no-any-return]
    with _guard:
        running = _inflight.get(key)
        if running is None:
            running = _inflight[key] = threading.Event()
            mine = True
        else:
            mine = False
    if not mine:
        if entry is not None:
            return entry[0]  # type: ignore[no-any-return]
        running.wait(WAIT_SECONDS)
        entry = cache.get(key)
        if entry is not None:
            return entry[0]  # type: ignore[no-any-return]
        return _computed(key, fresh_seconds, compute)
    try:
        return _computed(key, fresh_seconds, compute)
    finally:
        with _guard:
            del _inflight[key]
        running.set()


def _computed(key: str, fresh_seconds: float, compute: Callable[[], T]) -> T:
    value = compute()
    cache.set(key, (value, time.monotonic() + fresh_seconds), KEEP_SECONDS)
    return value
