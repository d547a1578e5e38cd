"""Rate limits of the partner API: the `limits` library's fixed window, counted in the
database so that every worker process and every server of a cluster counts the same requests.

A window starts at a key's first request and lasts a minute; the request that finds it full is
refused with the seconds until it ends (`Retry-After`).
"""

from __future__ import annotations

import math
import time

from django.db import DatabaseError, connection
from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from solidarity.apps.partners.models import ApiKey, RateCounter


class DatabaseStorage(Storage):
    """A `limits` storage in the `RateCounter` table: one row per limit and identity, counted
    and restarted with one INSERT … ON CONFLICT statement (SQLite and PostgreSQL)."""

    STORAGE_SCHEME = ["solidarity+database"]  # noqa: RUF012 (declared by limits as a list)

    @property
    def base_exceptions(self) -> type[Exception]:
        return DatabaseError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        q = connection.ops.quote_name
        table, name = q(RateCounter._meta.db_table), q("key")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({name}, hits, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT ({name}) DO UPDATE SET "
                f"hits = CASE WHEN {table}.expires_at <= %s THEN %s ELSE {table}.hits + %s END, "
                f"expires_at = CASE WHEN {table}.expires_at <= %s THEN %s "
                f"ELSE {table}.expires_at END RETURNING hits",
                [key, amount, now + expiry, now, amount, amount, now, now + expiry],
            )
            (hits,) = cursor.fetchone()
        return int(hits)

    def get(self, key: str) -> int:
        row = RateCounter.objects.filter(key=key, expires_at__gt=time.time()).first()
        return row.hits if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = RateCounter.objects.filter(key=key, expires_at__gt=now).first()
        return row.expires_at if row else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        deleted, _ = RateCounter.objects.all().delete()
        return deleted

    def clear(self, key: str) -> None:
        RateCounter.objects.filter(key=key).delete()


_LIMITER = FixedWindowRateLimiter(DatabaseStorage())


def rate_hit(*, key: ApiKey, limit: int) -> int:
    """Count one request of `key` against `limit` requests a minute: 0 when allowed, else the
    seconds to wait (at least 1)."""
    item = RateLimitItemPerMinute(limit)
    if _LIMITER.hit(item, "partner-key", str(key.pk)):
        return 0
    reset, _ = _LIMITER.get_window_stats(item, "partner-key", str(key.pk))
    return max(1, math.ceil(reset - time.time()))
