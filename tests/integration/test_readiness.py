"""/readyz, /metrics and `solidarity status` against a real database (SQLite, PostgreSQL): each
reason appears when its condition holds and goes when it stops; /metrics needs its token and
counts requests."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import timedelta
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone

from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import feed_add, notification_store, notifications_process
from solidarity.apps.imports.models import Import
from solidarity.apps.transparency.sequencer import log_sequence_once
from solidarity.apps.workers.models import WorkerBeat
from solidarity.apps.workers.services import worker_beat
from solidarity.cli import main
from solidarity.core import webhooks
from solidarity.web import health
from solidarity.web.metrics import metrics_token
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def _beat(role: str, *, pid: int | None = None, host: str = "", ago: float = 0.0) -> None:
    worker_beat(role=role, started_at=timezone.now(), host=host, pid=pid or os.getpid())
    if ago:
        WorkerBeat.objects.filter(role=role, host=host or socket.gethostname()).update(
            beat_at=timezone.now() - timedelta(seconds=ago)
        )


def _both_alive() -> None:
    _beat("sequencer")
    _beat("booker")


def readyz(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def test_healthz_stays_a_static_answer_while_readyz_says_why_not(client):
    # Given no worker has ever reported
    assert client.get("/healthz").content == b"ok"
    status, body = readyz(client)
    # Then liveness is fine but readiness names both missing workers
    assert status == 503
    assert body["ready"] is False
    assert body["reasons"] == [
        "sequencer down: it has never reported",
        "booker down: it has never reported",
    ]
    # When both report from live processes of this host
    _both_alive()
    status, body = readyz(client)
    # Then the node is ready, with every check's values
    assert (status, body["reasons"]) == (200, [])
    assert set(body["checks"]) == {"workers", "sequencer", "booker", "search"}
    assert body["checks"]["booker"]["waiting_notifications"] == 0


def test_a_killed_worker_is_seen_at_once_and_a_silent_one_after_the_limit(client, settings):
    settings.SOLIDARITY_READY = {**settings.SOLIDARITY_READY, "heartbeat_seconds": 30}
    # Given a booker whose process on this host is gone (its heartbeat is still fresh)
    _beat("sequencer")
    gone = _dead_pid()
    _beat("booker", pid=gone)
    status, body = readyz(client)
    assert status == 503
    assert body["reasons"] == [f"booker down: its process {gone} is gone"]
    # And a sequencer on another host that stopped beating 31 s ago
    WorkerBeat.objects.all().delete()
    _beat("booker")
    _beat("sequencer", host="node-b", pid=1, ago=31)
    status, body = readyz(client)
    assert status == 503
    assert body["reasons"][0].startswith("sequencer down: last heartbeat 31s ago on node-b")
    # When a sequencer beats again (on any host), the node is ready again by itself
    _beat("sequencer")
    assert readyz(client)[0] == 200


def test_sequencer_lag_past_either_threshold(client, settings, log_home):
    _both_alive()
    campaign = campaign_factory()
    # Given 5 booked gifts that no checkpoint covers yet
    donations_record_many(campaign=campaign, gifts=[gift(campaign) for _ in range(5)])
    settings.SOLIDARITY_READY = {
        **settings.SOLIDARITY_READY, "unpublished_entries": 4, "unpublished_seconds": 3600,
    }  # fmt: skip
    status, body = readyz(client)
    entries = body["checks"]["sequencer"]["unpublished_entries"]
    assert entries >= 5  # the gifts (and the account's entry when the log opened)
    assert status == 503
    assert body["reasons"] == [
        f"sequencer lagging: {entries} entries not in a signed checkpoint (limit 4)"
    ]
    # And when the oldest waits longer than allowed
    settings.SOLIDARITY_READY = {
        **settings.SOLIDARITY_READY, "unpublished_entries": 1000, "unpublished_seconds": 0,
    }  # fmt: skip
    status, body = readyz(client)
    assert status == 503
    assert body["reasons"][0].startswith("sequencer lagging: the oldest unpublished entry")
    assert body["checks"]["sequencer"]["oldest_unpublished_seconds"] > 0
    # When the sequencer publishes them
    log_sequence_once()
    status, body = readyz(client)
    # Then nothing is left and the node is ready
    assert status == 200
    assert body["checks"]["sequencer"] == {
        "unpublished_entries": 0,
        "oldest_unpublished_seconds": 0.0,
    }


def _notify(feed: Any, n: int) -> None:
    body = json.dumps(
        {
            "id": n, "gateway": "Vietcombank", "transactionDate": "2025-08-25 14:02:37",
            "accountNumber": "4001", "content": f"CUBA {n}", "transferType": "in",
            "transferAmount": 10_000 + n, "referenceCode": f"FT{n:08d}",
        }
    )  # fmt: skip
    transfer = webhooks.sepay_parse(body.encode())
    notification_store(feed=feed, transfer=transfer, headers={}, body=body)


def test_booker_backlog_and_failures(client, settings):
    _both_alive()
    campaign_factory()
    feed, _ = feed_add(name="vcb", kind="sepay", account="970422:4001", auth="hmac")
    settings.SOLIDARITY_READY = {
        **settings.SOLIDARITY_READY,
        "waiting_notifications": 2, "waiting_seconds": 3600, "failed_notifications": 0,
    }  # fmt: skip
    # Given three acknowledged notifications not booked, one of which failed
    for n in range(1, 5):
        _notify(feed, n)
    Notification.objects.filter(provider_id="4").update(status=Notification.Status.FAILED)
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["booker"]["waiting_notifications"] == 3
    assert body["checks"]["booker"]["failed_notifications"] == 1
    assert body["reasons"] == [
        "booker lagging: 3 acknowledged notifications not booked (limit 2)",
        "booker: 1 notifications failed to book (limit 0)",
    ]
    # When the failed one is dealt with and the others are booked
    Notification.objects.filter(provider_id="4").update(status=Notification.Status.OTHER)
    assert notifications_process() == 3
    # Then the booker has nothing left
    status, body = readyz(client)
    assert (status, body["reasons"]) == (200, [])


def test_a_check_is_one_line_and_a_failing_one_is_a_reason(client, monkeypatch):
    _both_alive()

    def conflicts_check(limits: Any) -> health.Check:
        return health.Check("conflicts", {"conflicts": 2}, ["booker: 2 conflicts"])

    def broken_check(limits: Any) -> health.Check:
        raise ZeroDivisionError

    monkeypatch.setattr(health, "CHECKS", [*health.CHECKS, conflicts_check, broken_check])
    status, body = readyz(client)
    assert status == 503
    assert body["reasons"] == ["booker: 2 conflicts", "broken check failed: ZeroDivisionError"]
    assert body["checks"]["conflicts"] == {"conflicts": 2}


def _wsgi(method: str, path: str) -> str:
    """Call the served WSGI application (receivers, site, metrics counting); the status."""
    from solidarity.web.wsgi import application

    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"{}")
    environ["CONTENT_LENGTH"] = "2"
    environ["CONTENT_TYPE"] = "application/json"
    status: list[str] = []
    # As Django's test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = application(environ, lambda s, h, e=None: status.append(s))
        b"".join(body)
        getattr(body, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status[0]


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_need_the_token_and_expose_health_imports_requests_and_webhooks(client):
    _both_alive()
    campaign = campaign_factory()
    Import.objects.create(
        campaign=campaign, file_name="a.csv", sha256="0" * 64, by="cli:test",
        status="done", rows_read=10, booked=7, duplicates=3,
        finished_at=timezone.now() + timedelta(seconds=2),
    )  # fmt: skip
    # Given no token, a wrong one, and the right one
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    auth = {"Authorization": f"Bearer {metrics_token()}"}
    before = client.get("/metrics", headers=auth).content.decode()
    # When requests reach the served application: a page and a refused notification
    assert _wsgi("GET", "/healthz").startswith("200")
    assert _wsgi("POST", "/hooks/no-such-feed").startswith("404")
    response = client.get("/metrics", headers=auth)
    # Then the exposition has them counted, with the installation's readiness and imports
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    site = 'solidarity_http_requests_total{code="200",handler="site",method="GET"}'
    refused = 'solidarity_webhooks_total{outcome="refused"}'
    assert _sample(text, site) == _sample(before, site) + 1
    assert _sample(text, refused) == _sample(before, refused) + 1
    assert _sample(text, "solidarity_webhook_duration_seconds_count") >= 1
    assert _sample(text, "solidarity_ready") == 1.0
    assert _sample(text, 'solidarity_check_ok{check="booker"}') == 1.0
    assert "solidarity_sequencer_unpublished_entries " in text
    assert "solidarity_booker_oldest_waiting_seconds " in text
    assert _sample(text, 'solidarity_imports_total{status="done"}') == 1.0
    assert _sample(text, 'solidarity_import_rows_total{outcome="booked"}') == 7.0
    assert _sample(text, 'solidarity_import_duration_seconds_bucket{le="5.0"}') == 1.0


def _status(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["status", *args])
    return code, out.getvalue()


def test_status_prints_the_same_and_exits_1_when_not_ready():
    # Given no worker has reported
    code, text = _status()
    assert code == 1
    assert text.splitlines()[:3] == [
        "NOT READY",
        "  - sequencer down: it has never reported",
        "  - booker down: it has never reported",
    ]
    # When both have
    _both_alive()
    code, text = _status("--json")
    # Then the JSON is /readyz's and the exit code 0
    assert code == 0
    body = json.loads(text)
    assert body["ready"] is True
    assert body["checks"]["booker"]["failed_notifications"] == 0
    code, text = _status()
    assert code == 0
    assert text.startswith("ready\n")
    assert "  waiting_notifications" in text


def test_search_lag_of_imported_gifts_is_shown_and_goes_when_the_indexer_catches_up(
    client, settings
):
    from solidarity.apps.donations.search import search_index_catch_up
    from solidarity.apps.ledger.models import JournalTransaction

    _both_alive()
    campaign = campaign_factory()
    # Given two gifts booked as an import books them (search rows left to the indexer)
    donations_record_many(
        campaign=campaign, gifts=[gift(campaign), gift(campaign)], deposit=True, search_later=True
    )
    assert JournalTransaction.objects.filter(kind="deposit").count() == 1
    # Then by default /readyz shows the lag and stays ready: every node shares the index
    status, body = readyz(client)
    assert (status, body["checks"]["search"]["unindexed_gifts"]) == (200, 2)
    settings.SOLIDARITY_READY = {**settings.SOLIDARITY_READY, "unindexed_seconds": 1e-9}
    # Then with a limit they are past, /readyz, /metrics and `solidarity status` flag it
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["search"]["unindexed_gifts"] == 2
    assert body["reasons"][0].startswith("search indexer lagging: 2 gifts not searchable")
    auth = {"Authorization": f"Bearer {metrics_token()}"}
    text = client.get("/metrics", headers=auth).content.decode()
    assert _sample(text, "solidarity_search_unindexed_gifts") == 2.0
    assert "search indexer lagging" in _status()[1]
    # When the indexer catches up
    assert search_index_catch_up() == 2
    # Then nothing is left and the installation is ready again
    status, body = readyz(client)
    assert (status, body["checks"]["search"]["unindexed_gifts"]) == (200, 0)
