"""The receivers' own handler (solidarity.web.hooks) behind the WSGI application that
`solidarity serve` runs: same answers as through the site, HTTPS redirect kept, errors as 500."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections

from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import feed_add
from solidarity.core import webhooks as w
from solidarity.web.hooks import receivers_path
from solidarity.web.wsgi import application
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

ACCOUNT = AccountInput("970436", "0011001932418", "HOI CTD")
BODY = json.dumps(
    {
        "id": 777,
        "gateway": "Vietcombank",
        "transactionDate": "2025-08-25 14:02:37",
        "accountNumber": ACCOUNT.number,
        "content": "CUBA NGUYEN VAN A",
        "transferType": "in",
        "transferAmount": 200_000,
        "referenceCode": "FT00000777",
        "description": "CUBA NGUYEN VAN A",
    }
).encode()


@pytest.fixture
def secret() -> str:
    campaign_factory(accounts=(ACCOUNT,))
    return feed_add(name="vcb", kind="sepay", account="970436:0011001932418")[1]


def call(path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[str, Any]:
    """The WSGI application's (status, body) for a POST, keeping the test's connection open
    at the request's start and end (as Django's test client does)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "QUERY_STRING": "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()},
    }
    status: list[str] = []
    headers_sent: list[dict[str, str]] = []

    def start_response(s: str, h: list[tuple[str, str]], e: Any = None) -> None:
        status.append(s)
        headers_sent.append(dict(h))

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        out = b"".join(application(environ, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    if status[0].startswith("200"):
        assert headers_sent[0]["Content-Length"] == str(len(out))  # keep-alive clients need it
    return status[0], out


def signed(secret: str, body: bytes = BODY) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-SePay-Timestamp": stamp, "X-SePay-Signature": w.sepay_sign(secret, stamp, body)}


def test_only_receiver_addresses_take_the_lean_handler():
    assert receivers_path("/hooks/vcb")
    assert receivers_path("/hooks/my-feed_2")
    assert not receivers_path("/hooks/vcb/")
    assert not receivers_path("/hooks/a/b")
    assert not receivers_path("/hooks/")
    assert not receivers_path("/vi/hooks/vcb")


def test_a_signed_notification_is_stored_and_acknowledged(secret):
    status, out = call("/hooks/vcb", BODY, signed(secret))
    assert status.startswith("200")
    assert json.loads(out) == {"success": True}
    assert Notification.objects.get().provider_id == "777"
    # And a retry is acknowledged again without a second row
    assert call("/hooks/vcb", BODY, signed(secret))[0].startswith("200")
    assert Notification.objects.count() == 1


def test_refusals_are_those_of_the_view(secret):
    assert call("/hooks/nobody", BODY, signed(secret))[0].startswith("404")
    assert call("/hooks/vcb", BODY, signed("wrong"))[0].startswith("401")
    assert call("/hooks/vcb", b"{", signed(secret, b"{"))[0].startswith("400")
    assert call("/hooks/vcb/extra", BODY, signed(secret))[0].startswith("404")  # the site's 404
    assert Notification.objects.count() == 0


def test_https_is_still_required_where_the_site_requires_it(secret, settings):
    settings.SECURE_SSL_REDIRECT = True
    from solidarity.web import wsgi

    wsgi.receivers.load_middleware()  # middleware reads its settings when built
    try:
        status, _ = call("/hooks/vcb", BODY, signed(secret))
    finally:
        settings.SECURE_SSL_REDIRECT = False
        wsgi.receivers.load_middleware()
    assert status.startswith("301")
    assert Notification.objects.count() == 0


def test_an_error_in_the_view_is_a_500_not_a_crash(secret, monkeypatch):
    from solidarity.apps.feeds import views

    def broken(**_: Any) -> bool:
        raise RuntimeError("database gone")

    monkeypatch.setattr(views, "notification_store_grouped", broken)
    assert call("/hooks/vcb", BODY, signed(secret))[0].startswith("500")
