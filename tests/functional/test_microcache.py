"""The public micro-cache in front of Django: what it keeps, for how long, and for whom."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from solidarity.web.microcache import MicroCache
from tests.factories import campaign_factory, gift


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _environ(path: str = "/p", method: str = "GET", **headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    setup_testing_defaults(environ)
    return environ


def _get(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, dict(headers)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


class Origin:
    """A WSGI app that counts its renders; the response is set per test."""

    def __init__(self, cache_control: str = "public, max-age=2", **extra: str) -> None:
        self.renders = 0
        self.cache_control = cache_control
        self.extra = extra
        self.status = "200 OK"
        self.during: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.renders += 1
        if self.during is not None:
            self.during()
        body = f"render {self.renders} {environ.get('HTTP_ACCEPT_LANGUAGE', '')}".encode()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        if self.cache_control:
            headers.append(("Cache-Control", self.cache_control))
        headers += list(self.extra.items())
        start_response(self.status, headers)
        return [body]


def test_a_shared_page_is_rendered_once_a_second_whatever_the_traffic():
    origin, clock = Origin(), Clock()
    cache = MicroCache(origin, seconds=1.0, clock=clock)
    bodies = {_get(cache, _environ())[2] for _ in range(50)}
    assert (origin.renders, bodies) == (1, {b"render 1 "})
    clock.now += 1.01
    assert _get(cache, _environ())[2] == b"render 2 "
    # HEAD is answered from the same copy, without a body
    status, headers, body = _get(cache, _environ(method="HEAD"))
    assert (status, body, origin.renders) == ("200 OK", b"", 2)
    assert headers["Cache-Control"] == "public, max-age=2"


def test_while_one_request_renders_again_the_others_get_the_expired_copy():
    origin, clock = Origin(), Clock()
    cache = MicroCache(origin, seconds=1.0, clock=clock)
    _get(cache, _environ())
    clock.now += 1.5
    inner: list[bytes] = []
    origin.during = lambda: inner.append(_get(cache, _environ())[2])
    assert _get(cache, _environ())[2] == b"render 2 "
    assert inner == [b"render 1 "]  # answered while render 2 ran, not a third render
    assert origin.renders == 2


@pytest.mark.parametrize(
    ("why", "environ", "origin"),
    [
        ("a visitor with a cookie", _environ(cookie="sessionid=x"), Origin()),
        ("a logged-in API client", _environ(authorization="Bearer k"), Origin()),
        ("a write", _environ(method="POST"), Origin()),
        ("a private response", _environ(), Origin("private, max-age=60")),
        ("no max-age", _environ(), Origin("public")),
        ("a response setting a cookie", _environ(), Origin(**{"Set-Cookie": "a=b"})),
    ],
)
def test_what_is_never_kept(why, environ, origin):
    cache = MicroCache(origin, seconds=1.0, clock=Clock())
    for _ in range(3):
        _get(cache, dict(environ))
    assert origin.renders == 3, why


def test_errors_and_streams_are_passed_on_untouched():
    origin = Origin()
    origin.status = "404 Not Found"
    cache = MicroCache(origin, seconds=1.0, clock=Clock())
    assert _get(cache, _environ())[0] == "404 Not Found"
    _get(cache, _environ())
    assert origin.renders == 2

    def stream(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Cache-Control", "public, max-age=60")])  # no length
        yield b"a"
        yield b"b"

    assert _get(MicroCache(stream, clock=Clock()), _environ())[2] == b"ab"


def test_a_response_that_varies_is_kept_per_header_value():
    origin = Origin(Vary="Accept-Language")
    cache = MicroCache(origin, seconds=1.0, clock=Clock())
    vi = _get(cache, _environ(accept_language="vi"))[2]
    en = _get(cache, _environ(accept_language="en"))[2]
    assert (vi, en) == (b"render 1 vi", b"render 2 en")
    assert _get(cache, _environ(accept_language="vi"))[2] == b"render 1 vi"
    assert _get(cache, _environ(accept_language="en"))[2] == b"render 2 en"
    assert origin.renders == 2


def test_turned_off_with_zero_seconds():
    origin = Origin()
    cache = MicroCache(origin, seconds=0, clock=Clock())
    _get(cache, _environ())
    _get(cache, _environ())
    assert origin.renders == 2


@pytest.mark.django_db
def test_the_served_application_keeps_the_totals_a_second_then_shows_new_gifts():
    from django.core.wsgi import get_wsgi_application

    from solidarity.apps.donations.services import donations_record_many

    # Given the application as `solidarity serve` serves it, and a campaign with one gift
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 50_000)])
    clock = Clock()
    app = MicroCache(get_wsgi_application(), seconds=1.0, clock=clock)
    path = f"/api/v1/campaigns/{campaign.slug}/totals"
    first = json.loads(_get(app, _environ(path))[2])
    # When a gift is booked, the totals stay as served for at most a second
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 70_000)])
    assert json.loads(_get(app, _environ(path))[2]) == first
    # Then the next render has it (the view's own cache is cleared as the clock cannot be)
    from django.core.cache import cache

    cache.clear()
    clock.now += 1.01
    later = json.loads(_get(app, _environ(path))[2])
    assert later != first
    # and a logged-in visitor never gets a kept copy
    status, _, _ = _get(app, _environ(path, cookie="sessionid=abc"))
    assert status.startswith("200")


def test_memory_stays_bounded(monkeypatch):
    from solidarity.web import microcache

    monkeypatch.setattr(microcache, "MAX_KEYS", 10)
    cache = MicroCache(Origin(), seconds=1.0, clock=Clock())
    for i in range(35):
        _get(cache, _environ(f"/p{i}"))
    assert len(cache._kept) <= 10
    assert len(cache._vary) <= 10
    assert cache._bytes == sum(len(k.body) for k in cache._kept.values())


def test_a_page_rendered_when_the_cache_is_full_is_still_kept(monkeypatch):
    from solidarity.web import microcache

    monkeypatch.setattr(microcache, "MAX_KEYS", 4)
    clock = Clock()
    origin = Origin()
    cache = MicroCache(origin, seconds=1.0, clock=clock)
    # Given a full cache whose oldest page is /p0
    for i in range(4):
        _get(cache, _environ(f"/p{i}"))
    # When /p0 expires and renders again, evicting the oldest half (itself included)
    clock.now += 2
    _get(cache, _environ("/p0"))
    renders = origin.renders
    # Then its new copy is kept: the next request is answered without a render
    _get(cache, _environ("/p0"))
    assert origin.renders == renders
