"""A per-process micro-cache in front of Django for the public pages everyone polls at once.

Contract:
- Only anonymous reads are served from it: GET or HEAD, no Cookie and no Authorization
  header. Everything else goes straight to Django.
- Only responses Django marks shareable are kept: status 200, `Cache-Control: public` with a
  `max-age` above 0, a `Content-Length` of at most MAX_BODY bytes (so streamed exports are
  never buffered), and no `Set-Cookie`. A kept response lives min(max-age, `seconds`) seconds,
  so a page is never older than its own max-age says it may be.
- The key is the path, the query string and the request headers the response's `Vary`
  names, so a response that varies by language is kept per language.
- When a kept response expires, one request renders it again while the others are answered
  with the expired copy, for at most STALE_GRACE seconds (no stampede of identical renders,
  even when a render is slow under load).
- At most MAX_KEYS responses and MAX_BYTES of bodies per process; past either the oldest half
  is dropped.

Tens of thousands of visitors polling one campaign page then cost one render per second per
process, and the rest of the time Django is not entered at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_BODY = 1 << 20
MAX_KEYS = 1024
MAX_BYTES = 64 << 20
STALE_GRACE = 10.0
"""How long past expiry a kept response may still be answered while its new render runs."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class _Kept:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    fresh_until: float
    stale_until: float
    refreshing: bool = False


def _max_age(headers: list[tuple[str, str]]) -> float:
    """The shared lifetime Django gave the response in seconds; 0 when it is not shareable."""
    values = {k.lower(): v for k, v in headers}
    if "set-cookie" in values or "content-length" not in values:
        return 0.0
    if int(values["content-length"]) > MAX_BODY:
        return 0.0
    directives = [d.strip().lower() for d in values.get("cache-control", "").split(",")]
    if "public" not in directives or "no-store" in directives or "private" in directives:
        return 0.0
    for d in directives:
        if d.startswith("max-age="):
            try:
                return max(0.0, float(d.removeprefix("max-age=")))
            except ValueError:
                return 0.0
    return 0.0


def _vary(headers: list[tuple[str, str]]) -> tuple[str, ...]:
    names = ",".join(v for k, v in headers if k.lower() == "vary")
    return tuple(sorted({n.strip().lower() for n in names.split(",") if n.strip()}))


class MicroCache:
    """WSGI middleware: `MicroCache(app, seconds=1.0)`; seconds <= 0 passes everything on."""

    def __init__(
        self, app: WSGIApp, *, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, ...], _Kept] = {}  # oldest first
        self._bytes = 0
        # (path, query) → the Vary names of its kept responses; dropped with them
        self._vary: dict[tuple[str, str], tuple[str, ...]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            self.seconds <= 0
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("HTTP_COOKIE")
            or environ.get("HTTP_AUTHORIZATION")
        ):
            return self.app(environ, start_response)
        where = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        now = self.clock()
        with self._lock:
            key = self._key(where, environ)
            kept = self._kept.get(key) if key is not None else None
            if kept is not None and (
                now < kept.fresh_until or (kept.refreshing and now < kept.stale_until)
            ):
                return self._answer(kept, environ, start_response)
            if kept is not None:
                kept.refreshing = True
        try:
            return self._render(where, environ, start_response, now)
        finally:
            if kept is not None:
                kept.refreshing = False

    def _key(self, where: tuple[str, str], environ: dict[str, Any]) -> tuple[str, ...] | None:
        names = self._vary.get(where)
        if names is None:
            return None
        return (*where, *(environ.get("HTTP_" + n.upper().replace("-", "_"), "") for n in names))

    def _render(
        self,
        where: tuple[str, str],
        environ: dict[str, Any],
        start_response: StartResponse,
        now: float,
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers, exc_info=exc_info)
            return written.append  # PEP 3333's write(); Django never calls it

        result = self.app(dict(environ, REQUEST_METHOD="GET"), capture)
        if "status" not in seen:  # an app may call start_response at its first chunk
            result = _Started(result)
        status, headers = seen["status"], seen["headers"]
        lifetime = min(_max_age(headers), self.seconds) if status.startswith("200") else 0.0
        if lifetime <= 0 or written:
            # Not kept: hand Django's response on as it is (it may stream).
            start_response(status, headers, seen["exc_info"])
            if environ.get("REQUEST_METHOD") == "HEAD":
                return _closed(result)
            return [*written, *result] if written else result
        try:
            body = b"".join(result)
        finally:
            _closed(result)
        kept = _Kept(status, headers, body, now + lifetime, now + lifetime + STALE_GRACE)
        with self._lock:
            if len(self._kept) >= MAX_KEYS or self._bytes + len(body) > MAX_BYTES:
                for old in list(self._kept)[: len(self._kept) // 2 + 1]:
                    self._bytes -= len(self._kept.pop(old).body)
                    self._vary.pop((old[0], old[1]), None)
            self._vary[where] = _vary(headers)  # after eviction, which may drop this address's
            key = self._key(where, environ)
            if key is not None:
                replaced = self._kept.pop(key, None)
                self._bytes += len(body) - (len(replaced.body) if replaced else 0)
                self._kept[key] = kept
        return self._answer(kept, environ, start_response)

    @staticmethod
    def _answer(
        kept: _Kept, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        start_response(kept.status, list(kept.headers))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [kept.body]


class _Started:
    """An app's iterable with its first chunk already drawn (so start_response has run)."""

    def __init__(self, result: Iterable[bytes]) -> None:
        self._result = result
        self._chunks = iter(result)
        self._first = [chunk for chunk in [next(self._chunks, None)] if chunk is not None]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._first
        yield from self._chunks

    def close(self) -> None:
        _closed(self._result)


def _closed(result: Iterable[bytes]) -> list[bytes]:
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return []
