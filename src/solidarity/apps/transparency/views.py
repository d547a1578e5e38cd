"""The published log files, verifier key and donors' receipts over HTTP.

Log files follow c2sp.org/tlog-tiles: tiles and bundles never change once written and are
cached for a year as immutable; the checkpoint changes with every batch and may be cached
for CHECKPOINT_MAX_AGE seconds (a CDN in front of many nodes then asks once per interval).
Every node serves the same bytes: on PostgreSQL they are read from the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.selectors import (
    LogNotFound,
    log_file_read,
    log_vkey,
    receipt_get,
    receipt_slug,
)
from solidarity.core.money import LANGUAGE_LOCALES, Money, MoneyError, money_format
from solidarity.core.qrimage import qr_svg
from solidarity.core.tlog.keys import KEYS_PATH
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH

IMMUTABLE = "public, max-age=31536000, immutable"
CHECKPOINT_MAX_AGE = 2
"""Seconds a cache may serve a checkpoint: about the sequencer's interval."""
CHECKPOINT_CACHE = f"public, max-age={CHECKPOINT_MAX_AGE}"


def _public(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def log_file(request: HttpRequest, slug: str, path: str) -> HttpResponse:
    data = log_file_read(slug=slug, path=path)
    if data is None:
        raise Http404("no such log file")
    if path == CHECKPOINT_PATH:
        response = HttpResponse(data, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = CHECKPOINT_CACHE
    elif path == KEYS_PATH:  # grows with each key rotation
        response = HttpResponse(data, content_type="application/json")
        response["Cache-Control"] = "no-cache"
    else:
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Cache-Control"] = IMMUTABLE
    return _public(response)


def log_vkey_view(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = Campaign.objects.filter(slug=slug).first()
    vkey = log_vkey(campaign) if campaign is not None else None
    if vkey is None:
        raise Http404("this campaign has no log yet")
    response = HttpResponse(vkey + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return _public(response)


def _short_url(request: HttpRequest, ref: str) -> str:
    return request.build_absolute_uri(reverse("receipt-short", args=[ref]))


def _amount(entry: dict[str, object], request: HttpRequest) -> str:
    amount, currency = entry.get("amount"), entry.get("currency")
    if not isinstance(amount, int) or not isinstance(currency, str):
        return ""
    locale = LANGUAGE_LOCALES.get(getattr(request, "LANGUAGE_CODE", "vi"), "vi")
    try:
        return money_format(Money(amount, currency), locale)
    except MoneyError:
        return f"{amount} {currency}"


def _local_time(at: object, request: HttpRequest) -> str:
    """An entry's RFC 3339 `at` in the site's time zone and the reader's language, or ""."""
    if not isinstance(at, str):
        return ""
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return ""
    locale = LANGUAGE_LOCALES.get(getattr(request, "LANGUAGE_CODE", "vi"), "vi")
    return str(
        format_datetime(moment, "medium", tzinfo=ZoneInfo(settings.TIME_ZONE), locale=locale)
    )


def receipt_page(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    try:
        found = receipt_get(slug=slug, ref=ref)
    except LogNotFound:
        raise Http404("no such gift") from None
    short = _short_url(request, ref)
    context = {
        "found": found,
        "campaign": found.campaign,
        "entry_json": json.dumps(found.entry, ensure_ascii=False, indent=2, sort_keys=True),
        "short_url": short,
        # S308: segno's SVG of our own URL, with a constant title; nothing from the request.
        "qr": mark_safe(qr_svg(short, title="Receipt link").decode()),  # noqa: S308
        "json_url": reverse("receipt-json", args=[slug, ref]),
        "vkey_url": reverse("log-vkey", args=[slug]),
        "log_url": f"/log/{slug}/",
        "amount": _amount(found.entry, request),
        "local_at": _local_time(found.entry.get("at"), request),
        "reversed_at": _local_time((found.reversal or {}).get("at"), request),
        "receipt_json": None if found.pending else found.as_json(),
    }
    response = render(request, "transparency/receipt.html", context)
    if found.pending:
        response["Cache-Control"] = "no-cache"
    return response


def receipt_json(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    try:
        found = receipt_get(slug=slug, ref=ref)
    except LogNotFound:
        return JsonResponse({"detail": f"no gift {ref!r} in campaign {slug!r}"}, status=404)
    if found.pending:
        response = JsonResponse(
            {
                "status": "pending",
                "detail": "this gift is booked but not yet in a published checkpoint of the "
                "log; the receipt is ready within seconds",
                "ref": ref,
            },
            status=202,
        )
        response["Retry-After"] = "2"
        response["Cache-Control"] = "no-cache"
        return response
    response = JsonResponse(found.as_json(), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="receipt-{slug}-{ref}.json"'
    return _public(response)


def receipt_short(request: HttpRequest, ref: str) -> HttpResponse:
    slug = receipt_slug(ref=ref)
    if slug is None:
        raise Http404("no such gift")
    return redirect("receipt", slug=slug, ref=ref)
