"""Prometheus metrics (`/metrics`, text exposition format 0.0.4) with prometheus_client.

Two sources, chosen by what each value is:
- Counted in the web workers as requests are answered: HTTP requests and webhook
  notifications (counters by outcome, latency histograms). Granian runs several worker
  processes, so `solidarity serve` gives them prometheus_client's multiprocess mode: each
  process writes its samples to files under PROMETHEUS_MULTIPROC_DIR (a fresh directory per
  `serve` process, `SOLIDARITY_HOME/run/metrics/<pid>`) and a scrape sums them, whichever
  worker answers it. Without that variable (tests, a single process) the counts are the
  process's own.
- Read from the database at scrape time: readiness and its checks' values (the same as
  `/readyz`), and statement imports (counts by status, rows by outcome, a duration
  histogram). Those are facts of the installation, the same from every node and every
  process, so they are never counted in memory.

Protected by a bearer token: `Authorization: Bearer <token>` where the token is the file
`secrets/metrics_token` under SOLIDARITY_HOME (created by `solidarity init` or the first
scrape; Prometheus reads it with `authorization: {credentials_file: ...}`). A token rather
than "localhost only": a node behind a load balancer or in a container is scraped from
elsewhere, and the addresses a proxy forwards are easy to get wrong.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import Count, Sum
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector

from solidarity import config
from solidarity.apps.imports.models import Import
from solidarity.web.health import readiness

TOKEN_FILE = "metrics_token"  # noqa: S105 (a file name, not a secret)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# registry=None: collected per scrape below, from this process or from every worker's files.
HTTP_REQUESTS = Counter(
    "solidarity_http_requests",
    "HTTP requests answered, by handler (site or receivers), method and status code.",
    ["handler", "method", "code"],
    registry=None,
)
HTTP_SECONDS = Histogram(
    "solidarity_http_request_duration_seconds",
    "Time from a request's arrival to its response (headers and body built), by handler.",
    ["handler"],
    buckets=_LATENCY,
    registry=None,
)
WEBHOOKS = Counter(
    "solidarity_webhooks",
    "Webhook notifications answered at /hooks/<feed>, by outcome: acknowledged (2xx), "
    "refused (4xx) or failed (5xx).",
    ["outcome"],
    registry=None,
)
WEBHOOK_SECONDS = Histogram(
    "solidarity_webhook_duration_seconds",
    "Time to store and acknowledge (or refuse) a webhook notification.",
    buckets=_LATENCY,
    registry=None,
)
_OWN = (HTTP_REQUESTS, HTTP_SECONDS, WEBHOOKS, WEBHOOK_SECONDS)


def request_observe(*, receiver: bool, method: str, code: str, seconds: float) -> None:
    """Count one answered request (label values bounded: unknown methods are "other")."""
    handler = "receivers" if receiver else "site"
    method = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(handler, method, code).inc()
    HTTP_SECONDS.labels(handler).observe(seconds)
    if receiver:
        outcome = {"2": "acknowledged", "4": "refused"}.get(code[:1], "failed")
        WEBHOOKS.labels(outcome).inc()
        WEBHOOK_SECONDS.observe(seconds)


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def instrumented(app: WSGIApp, *, receiver: Callable[[str], bool]) -> WSGIApp:
    """`app` counting each request; `receiver(path)` tells a webhook from the site. The time
    measured ends when `app` returns its body iterable (all of it for Django's ordinary
    responses; the start of the stream for a streamed export)."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        codes: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            codes.append(status[:3])
            return start_response(status, headers, exc_info)

        try:
            return app(environ, start)
        finally:
            request_observe(
                receiver=receiver(environ.get("PATH_INFO", "")),
                method=environ.get("REQUEST_METHOD", ""),
                code=codes[-1] if codes else "500",
                seconds=time.perf_counter() - started,
            )

    return wrapped


class InstallationCollector:
    """Gauges and counters read from the database when scraped (readiness, imports)."""

    def collect(self) -> Iterator[Metric]:
        state = readiness()
        ready = GaugeMetricFamily("solidarity_ready", "1 when /readyz answers 200, else 0.")
        ready.add_metric([], 1.0 if state.ready else 0.0)
        yield ready
        ok = GaugeMetricFamily(
            "solidarity_check_ok", "1 when the readiness check passes, else 0.", labels=["check"]
        )
        for check in state.checks:
            ok.add_metric([check.name], 1.0 if check.ok else 0.0)
        yield ok
        for check in state.checks:
            for key, value in check.values.items():
                gauge = GaugeMetricFamily(
                    f"solidarity_{check.name}_{key}", f"{check.name}: {key} (as in /readyz)."
                )
                gauge.add_metric([], value)
                yield gauge
        yield from _import_metrics()


def _import_metrics() -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "solidarity_imports", "Statement imports run, by status.", labels=["status"]
    )
    for row in Import.objects.values("status").annotate(n=Count("pk")).order_by("status"):
        runs.add_metric([row["status"]], row["n"])
    yield runs
    outcomes = ("booked", "duplicates", "to_review", "reversals", "not_gifts", "rejected")
    sums = Import.objects.filter(dry_run=False).aggregate(
        read=Sum("rows_read"), **{o: Sum(o) for o in outcomes}
    )
    rows = CounterMetricFamily(
        "solidarity_import_rows", "Statement rows imported, by outcome.", labels=["outcome"]
    )
    rows.add_metric(["read"], sums["read"] or 0)
    for outcome in outcomes:
        rows.add_metric([outcome], sums[outcome] or 0)
    yield rows
    durations = [
        (finished - started).total_seconds()
        for started, finished in Import.objects.filter(finished_at__isnull=False).values_list(
            "started_at", "finished_at"
        )
    ]
    bounds = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
    buckets = [(str(b), sum(1 for d in durations if d <= b)) for b in bounds]
    buckets.append(("+Inf", len(durations)))
    histogram = HistogramMetricFamily(
        "solidarity_import_duration_seconds", "Time a finished statement import took."
    )
    histogram.add_metric([], buckets, sum_value=sum(durations))
    yield histogram


def metrics_token() -> str:
    """The bearer token `/metrics` requires (created on first use)."""
    return config.secret_file(TOKEN_FILE, 32)


def authorized(header: str) -> bool:
    """Whether an Authorization header carries the metrics token."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), metrics_token().encode())


def metrics_text() -> bytes:
    """The exposition: this process's or every worker's counts, and the installation's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in _OWN:
            registry.register(metric)
    registry.register(InstallationCollector())
    return generate_latest(registry)


def init() -> None:
    """`solidarity init`: create the metrics token."""
    metrics_token()
