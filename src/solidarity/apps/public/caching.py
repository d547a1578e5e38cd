"""Stale-while-revalidate in the process cache: one thread recomputes, the others keep
serving the previous value, so a cache expiry never stalls every request at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
_refreshing = threading.Lock()
KEEP_SECONDS = 600  # how long a stale value may still be served while it is recomputed


def cached(key: str, fresh_seconds: float, compute: Callable[[], T]) -> T:
    """`compute()`'s value, at most `fresh_seconds` old unless another thread is refreshing it."""
    entry = cache.get(key)
    now = time.monotonic()
    if entry is not None and entry[1] > now:
        return entry[0]  # type: ignore[no-any-return]
    if entry is not None and not _refreshing.acquire(blocking=False):
        return entry[0]  # type: ignore[no-any-return]
    try:
        value = compute()
        cache.set(key, (value, time.monotonic() + fresh_seconds), KEEP_SECONDS)
        return value
    finally:
        if entry is not None:
            _refreshing.release()
