"""The partner API at /api/v1/partner/: donation intents and confirmed gifts.

Authentication: `Authorization: Bearer sk_…` (a partner key; only its SHA-256 is stored).
Scopes: `intents:write`, `gifts:write` (403 without). Rate limit: a one-minute fixed window
per key (`ratelimit`; 429 with Retry-After). `POST gifts` requires an `Idempotency-Key`: the
same key with the same body returns the stored result again; with another body 422; while the first
request still runs 409 (a request that died, with no result after
`services.IDEMPOTENCY_RUNNING_SECONDS`, runs again on the next try).

A gift is booked once per partner and `id`: the answer always carries the gift as stored. An
`id` booked before with another campaign, amount or currency is answered 409 with the stored
gift and `conflict` naming what differs; the request is kept for the back office as a
conflict and nothing is booked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Field, Header, Router, Schema
from ninja.security import HttpBearer

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.services import DonationRefused
from solidarity.apps.partners.models import ApiKey
from solidarity.apps.partners.ratelimit import rate_hit
from solidarity.apps.partners.services import (
    PartnerError,
    idempotency_abandon,
    idempotency_begin,
    idempotency_finish,
    intent_create,
    key_digest,
    partner_gift_record,
    request_hash,
)
from solidarity.core.webhooks import Malformed, amount_check

NO_NUL = r"^[^\x00]*$"


class PartnerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        if not token.startswith("sk_") or len(token) > 200:
            return None
        return (
            ApiKey.objects.select_related("partner")
            .filter(digest=key_digest(token), revoked_at__isnull=True, partner__active=True)
            .first()
        )


router = Router(tags=["partner"], auth=PartnerKey())


class Problem(Schema):
    detail: str


class IntentIn(Schema):
    campaign: str = Field(max_length=64, pattern=NO_NUL)
    amount: int = Field(gt=0, le=10**15, description="minor units")
    donor_name: str = Field("", max_length=120, pattern=NO_NUL)
    privacy: Literal["named", "masked", "anonymous"] = "masked"


class IntentOut(Schema):
    reference: str
    campaign: str
    amount: int
    currency: str
    account: str
    memo: str
    vietqr: str


class GiftIn(Schema):
    campaign: str = Field(max_length=64, pattern=NO_NUL)
    id: str = Field(min_length=1, max_length=120, pattern=NO_NUL, description="your transaction id")
    amount: int = Field(gt=0, le=10**15, description="minor units")
    currency: str | None = Field(None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    occurred_at: datetime
    channel: Literal["wallet", "card", "qr", "bank_transfer"] = "wallet"
    donor_name: str = Field("", max_length=120, pattern=NO_NUL)
    privacy: Literal["named", "masked", "anonymous"] = "masked"
    memo: str = Field("", max_length=500, pattern=NO_NUL)


class GiftOut(Schema):
    ref: str
    created: bool
    campaign: str
    amount: int
    currency: str


class GiftConflict(GiftOut):
    detail: str
    conflict: list[str] = Field(description="what differs from the stored gift")


def _problem(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _guard(request: HttpRequest, scope: str) -> tuple[ApiKey, JsonResponse | None]:
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    if scope not in key.partner.scopes:
        return key, _problem(403, f"this key lacks the {scope} scope")
    wait = rate_hit(key=key, limit=key.partner.rate_per_minute)
    if wait:
        return key, _problem(429, "rate limit exceeded", **{"Retry-After": str(wait)})
    return key, None


def _campaign(slug: str) -> Campaign | None:
    return Campaign.objects.filter(slug=slug).first()


ERRORS: dict[int, Any] = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}


@router.post("/intents", response={201: IntentOut, **ERRORS})
def intents_create(request: HttpRequest, payload: IntentIn) -> Any:
    """Announce a gift: a reference for the transfer memo and a VietQR payload to show."""
    key, refused = _guard(request, "intents:write")
    if refused:
        return refused
    campaign = _campaign(payload.campaign)
    if campaign is None:
        return _problem(404, f"no campaign {payload.campaign!r}")
    try:
        _, body = intent_create(
            campaign=campaign,
            amount_minor=payload.amount,
            donor_name=payload.donor_name,
            privacy=payload.privacy,
            partner=key.partner,
        )
    except PartnerError as exc:
        return _problem(400, str(exc))
    return JsonResponse(body, status=201)


@router.post(
    "/gifts",
    response={200: GiftOut, 201: GiftOut, 409: GiftConflict | Problem, 422: Problem, **ERRORS},
)
def gifts_record(
    request: HttpRequest,
    payload: GiftIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", max_length=120, pattern=NO_NUL),
) -> Any:
    """Record a gift the partner has received and confirmed; booked once per `id`."""
    key, refused = _guard(request, "gifts:write")
    if refused:
        return refused
    partner = key.partner
    digest = request_hash(payload.model_dump(mode="json"))
    record, fresh = idempotency_begin(partner=partner, key=idempotency_key, digest=digest)
    if not fresh:
        if record.request_hash != digest:
            return _problem(422, "this Idempotency-Key was used with another request body")
        if not record.done:
            return _problem(409, "a request with this Idempotency-Key is still running")
        return JsonResponse(record.response, status=record.status_code)
    try:
        status, body = _gift(partner, payload)
    except Exception:
        idempotency_abandon(record=record)
        raise
    idempotency_finish(record=record, status_code=status, response=body)
    return JsonResponse(body, status=status)


def _gift(partner: Any, payload: GiftIn) -> tuple[int, dict[str, Any]]:
    campaign = _campaign(payload.campaign)
    if campaign is None:
        return 404, {"detail": f"no campaign {payload.campaign!r}"}
    when = payload.occurred_at
    if when.tzinfo is None:
        return 400, {"detail": "occurred_at needs a time zone"}
    if not 2000 <= when.year <= 2100 or when > timezone.now() + timedelta(days=1):
        return 400, {"detail": "occurred_at is out of range"}
    try:
        amount_check(payload.amount, payload.currency or campaign.currency, "amount")
    except Malformed as exc:
        return 400, {"detail": str(exc)}
    try:
        gift = partner_gift_record(
            partner=partner,
            campaign=campaign,
            transaction_id=payload.id,
            amount_minor=payload.amount,
            currency=payload.currency or campaign.currency,
            received_at=when,
            channel=payload.channel,
            donor_name=payload.donor_name,
            privacy=payload.privacy,
            memo=payload.memo,
            request=payload.model_dump_json(),
        )
    except DonationRefused as exc:
        return 400, {"detail": str(exc)}
    body: dict[str, Any] = {
        "ref": gift.ref,
        "created": gift.created,
        "campaign": gift.campaign,
        "amount": gift.amount_minor,
        "currency": gift.currency,
    }
    if gift.differs:
        detail = f"id {payload.id!r} is booked with another {', '.join(gift.differs)}"
        return 409, {"detail": detail, "conflict": list(gift.differs), **body}
    return (201 if gift.created else 200), body
