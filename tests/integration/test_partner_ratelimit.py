"""The partner API's rate limit: `limits`' fixed window over the database storage."""

from __future__ import annotations

import time

import pytest

from solidarity.apps.partners.models import ApiKey, RateCounter
from solidarity.apps.partners.ratelimit import DatabaseStorage, rate_hit
from solidarity.apps.partners.services import api_key_create, partner_add

pytestmark = pytest.mark.django_db


def test_a_key_gets_its_limit_a_minute_then_waits_until_its_window_ends():
    partner, _ = partner_add(name="momo", scopes=["gifts:write"])
    key = ApiKey.objects.get(partner=partner)
    # Given a limit of two requests a minute, the third waits for the window's end
    assert [rate_hit(key=key, limit=2) for _ in range(2)] == [0, 0]
    wait = rate_hit(key=key, limit=2)
    assert 59 <= wait <= 60  # the window began with the first request, a moment ago
    # When the window has ended, the next request starts a new one
    RateCounter.objects.update(expires_at=time.time() - 1)
    assert rate_hit(key=key, limit=2) == 0
    assert RateCounter.objects.get().hits == 1


def test_each_key_is_counted_on_its_own():
    partner, _ = partner_add(name="momo", scopes=["gifts:write"])
    api_key_create(partner=partner)
    first, second = ApiKey.objects.filter(partner=partner).order_by("id")
    assert rate_hit(key=first, limit=1) == 0
    assert rate_hit(key=first, limit=1) > 0
    assert rate_hit(key=second, limit=1) == 0


def test_the_storage_reads_clears_and_resets():
    storage = DatabaseStorage()
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    assert storage.incr("k", 60, amount=2) == 3
    assert storage.get("k") == 3
    assert time.time() < storage.get_expiry("k") <= time.time() + 60
    storage.clear("k")
    assert storage.get("k") == 0
    storage.incr("a", 60)
    storage.incr("b", 60)
    assert storage.reset() == 2
    assert storage.check()
