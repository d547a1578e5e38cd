"""Public JSON: live totals (polled by the campaign page) and the searchable statement."""

from __future__ import annotations

import hashlib
import json
from typing import Final

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Router

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_get, campaign_public_recent
from solidarity.apps.donations.selectors import (
    PAGE_MAX,
    SearchError,
    donation_search,
    statement_query_read,
)
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.public.views import public_row, statement_query

router = Router(tags=["public"])

TOTALS_SECONDS: Final = 2
# Each process re-reads the totals row at most once a second; the maintained row is updated
# in every booking transaction, so what it serves is never more than a second behind.
_MEMO_SECONDS: Final = 1


def _open_campaign(slug: str) -> Campaign | None:
    try:
        campaign = campaign_get(slug=slug)
    except Campaign.DoesNotExist:
        return None
    return None if campaign.status == Campaign.Status.DRAFT else campaign


def _not_found() -> JsonResponse:
    return JsonResponse({"detail": "no such campaign"}, status=404)


@router.get("/{slug}/totals", url_name="public-totals")
def totals(request: HttpRequest, slug: str) -> HttpResponse:
    """Raised, goal, gifts and donors; cacheable for two seconds, with an ETag."""
    key = f"public:totals:{slug}"
    cached = cache.get(key)
    if cached is None:
        campaign = _open_campaign(slug)
        if campaign is None:
            return _not_found()
        body = json.dumps(campaign_totals(campaign=campaign), sort_keys=True).encode()
        cached = (body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
        cache.set(key, cached, _MEMO_SECONDS)
    body, etag = cached
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={TOTALS_SECONDS}"
    return response


@router.get("/{slug}/donations", url_name="public-donations")
def donations(request: HttpRequest, slug: str) -> HttpResponse:
    """The statement: ?q=&min=&max=&from=&to=&ref=&sort=&page=&limit= (amounts in minor units).

    `page` is the `next_page` cursor of the previous answer (keyset pagination).
    """
    try:
        campaign = campaign_public_recent(slug=slug)
    except Campaign.DoesNotExist:
        return _not_found()
    query, errors = statement_query(request.GET, campaign, minor_units=True)
    raw_limit = request.GET.get("limit") or "50"
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() else 0
    if not 1 <= limit <= PAGE_MAX or len(raw_limit) > 6:
        errors.append(_("limit: a whole number from 1 to %(max)s.") % {"max": PAGE_MAX})
    if not errors:
        # A reference or bank transaction code typed in q finds its gift, as on the page.
        query, _read = statement_query_read(campaign=campaign, query=query, amount=None)
        try:
            page = donation_search(
                campaign=campaign, query=query, cursor=request.GET.get("page") or None, limit=limit
            )
        except SearchError as exc:
            errors.append(str(exc))
    if errors:
        return JsonResponse({"detail": errors}, status=400)
    return JsonResponse(
        {
            "campaign": slug,
            "items": [public_row(r, slug) for r in page.rows],
            "next_page": page.next_cursor,
        },
        json_dumps_params={"ensure_ascii": False},
    )
