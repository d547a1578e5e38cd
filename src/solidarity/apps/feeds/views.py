"""Receivers at /hooks/<name> (no language prefix, CSRF-exempt) and the back-office
notification log at /office/notifications/.

A receiver answers in its provider's protocol. Order of checks: unknown or revoked feed 404;
body over MAX_BODY 413; authentication on the raw body 401 (bad signature, stale
timestamp); malformed message 400, which includes JSON nested deeper than
`webhooks.MAX_JSON_DEPTH` (Casso's, parsed before its signature is checked, too) and an
amount that cannot be a real transfer (`webhooks.amount_check`: zero, negative where the
protocol has a direction of its own, beyond `webhooks.MAX_TRANSFER_MAJOR` or a 64-bit
integer). Only then is the notification stored (committed, in one transaction with those the
process's other threads receive meanwhile) and acknowledged; the booker
(`notifications_process`, run beside `solidarity serve` every
`solidarity.web.server.BOOKER_INTERVAL` seconds) books what was stored, hundreds at a time, and
a failure there is left to the back office, never refused to the provider (it would only
retry).

A notification with the id of a stored one and other terms (amount, currency, account,
campaign) is a conflict: it is recorded durably beside the stored one before the
acknowledgement (on SQLite it waits in the inbox under a key of its own and the booker records
it when it moves it) and acknowledged with 200 like a retry, since any error would only make
the provider send the same body again; it is never booked, and the back office lists it. The
feed and its secrets are read at most once a second per process (`feed_receiving`).
VNPay always gets HTTP 200 with its `RspCode` (97 bad signature, 99 malformed, 01 order not
found, 04 invalid amount, also one that cannot be a real transfer, 02 already confirmed, 00
confirmed), as its IPN protocol expects.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, AUDITOR
from solidarity.apps.feeds.intents import intent_find
from solidarity.apps.feeds.models import Conflict, Feed, Notification
from solidarity.apps.feeds.providers import PROVIDERS
from solidarity.apps.feeds.selectors import conflicts_list, notifications_health, notifications_list
from solidarity.apps.feeds.services import (
    conflict_resolve,
    feed_receiving,
    notification_book,
    notification_replay,
    notification_store,
    notification_store_grouped,
)
from solidarity.core import webhooks

log = logging.getLogger("solidarity.feeds")

MAX_BODY = 64 * 1024
"""Largest notification accepted (bytes); providers send well under 4 KiB."""


def _reject(feed: str, status: int, reason: str) -> JsonResponse:
    log.warning("hooks/%s: rejected %s: %s", feed, status, reason)
    return JsonResponse({"success": False, "message": reason}, status=status)


def _headers(request: HttpRequest) -> dict[str, str]:
    return dict(request.headers.items())


@csrf_exempt
@require_http_methods(["GET", "POST"])
def hook(request: HttpRequest, name: str) -> HttpResponse:
    found = feed_receiving(name)
    if found is None:
        return _reject(name, 404, "unknown source")
    feed, secrets = found
    if feed.kind == Feed.Kind.VNPAY:
        return _vnpay(request, feed, secrets)
    if request.method != "POST":
        return _reject(name, 405, "POST only")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        return _reject(name, 413, f"body over {MAX_BODY} bytes")
    body = request.body
    if len(body) > MAX_BODY:
        return _reject(name, 413, f"body over {MAX_BODY} bytes")
    headers = _headers(request)
    now = time.time()
    receive = PROVIDERS[feed.kind].receive
    assert receive is not None  # every kind but VNPay (answered above) is received as a POST
    try:
        transfer = receive(headers, body, secrets, feed.auth, now)
    except webhooks.NotAuthentic as exc:
        return _reject(name, 401, str(exc))
    except (webhooks.Malformed, ValueError) as exc:
        return _reject(name, 400, f"malformed: {exc}")
    if not transfer.provider_id:
        return _reject(name, 400, "malformed: no transaction id")
    # A notification under a stored id with other terms is a conflict: recorded (when the
    # store returns, or when the booker moves the inbox) and acknowledged like a retry, since
    # an error would only make the provider send it again; accountants see it.
    created = notification_store_grouped(
        feed=feed, transfer=transfer, headers=headers, body=body.decode()
    )
    if not created:
        log.info("hooks/%s: %s received again", name, transfer.provider_id)
    if feed.kind == Feed.Kind.SEPAY:
        return JsonResponse({"success": True}, status=200)
    return JsonResponse({"success": True, "id": transfer.provider_id}, status=200)


def _vnpay_reply(code: str, message: str) -> JsonResponse:
    return JsonResponse({"RspCode": code, "Message": message})


def _vnpay(request: HttpRequest, feed: Feed, secrets: list[str]) -> HttpResponse:
    query = request.META.get("QUERY_STRING", "")
    if request.method == "POST" and not query:
        query = request.body[:MAX_BODY].decode(errors="replace")
    if len(query) > MAX_BODY:
        return _reject(feed.name, 413, f"query over {MAX_BODY} bytes")
    params = dict(parse_qsl(query, keep_blank_values=True))
    try:
        webhooks.vnpay_verify(params, secrets)
    except webhooks.NotAuthentic as exc:
        log.warning("hooks/%s: rejected: %s", feed.name, exc)
        return _vnpay_reply("97", "Invalid signature")
    try:
        transfer = webhooks.vnpay_parse(params)
    except webhooks.Malformed as exc:
        log.warning("hooks/%s: malformed: %s", feed.name, exc)
        if str(exc).startswith("vnp_Amount"):
            return _vnpay_reply("04", "Invalid amount")
        return _vnpay_reply("99", "Invalid request")
    intent = intent_find(reference=transfer.order_ref)
    if intent is None:
        log.warning("hooks/%s: order %s not found", feed.name, transfer.order_ref)
        return _vnpay_reply("01", "Order not found")
    if intent.amount_minor != transfer.amount_minor or intent.currency != transfer.currency:
        log.warning("hooks/%s: order %s: amount differs", feed.name, transfer.order_ref)
        return _vnpay_reply("04", "Invalid amount")
    paid = Notification.objects.filter(
        feed=feed,
        status=Notification.Status.BOOKED,
        body__contains=f"vnp_TxnRef={intent.reference}",
    )
    if paid.exclude(provider_id=transfer.provider_id).exists():
        return _vnpay_reply("02", "Order already confirmed")
    row, created = notification_store(
        feed=feed, transfer=transfer, headers=_headers(request), body=query
    )
    if not created and row.status == Notification.Status.BOOKED:
        return _vnpay_reply("02", "Order already confirmed")
    notification_book(notification=row)
    return _vnpay_reply("00", "Confirm Success")


# --- back office ----------------------------------------------------------------------------


CONFLICT = "conflict"
"""The notification log's filter that lists conflicts (`Conflict` rows) instead."""


@role_required(read=(AUDITOR,), write=(ACCOUNTANT, ADMIN))
@require_http_methods(["GET"])
def notifications_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "")
    if status == CONFLICT:
        rows = conflicts_list(limit=None)
        sorts = CONFLICT_SORTS
    else:
        rows = notifications_list(status=status or None, limit=None)
        sorts = NOTIFICATION_SORTS
    if (field := sorts.get(sort.lstrip("-"))) is not None:
        rows = rows.order_by(f"-{field}" if sort.startswith("-") else field, "-id")
    context: dict[str, Any] = {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        "status": status,
        "statuses": [
            *Notification.Status.choices,
            ("flagged", _("unconfirmed")),
            (CONFLICT, _("conflicts")),
        ],
        "health": notifications_health(),
    }
    return render(request, "feeds/notifications.html", context)


NOTIFICATION_SORTS = {"id": "id", "received": "received_at", "amount": "amount_minor"}
CONFLICT_SORTS = {"id": "id", "received": "received_at"}


@role_required(write=(ACCOUNTANT, ADMIN))
@require_POST
def notification_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(Notification.objects.select_related("feed"), pk=pk)
    notification_replay(notification=row)
    return redirect(f"{request.path.rsplit('/', 3)[0]}/?status={row.status}")


@role_required(write=(ACCOUNTANT, ADMIN))
@require_POST
def conflict_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    conflict_resolve(conflict=get_object_or_404(Conflict, pk=pk), by=request.user.get_username())
    return redirect(f"{reverse('notifications-office')}?status={CONFLICT}")
