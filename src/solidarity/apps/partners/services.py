"""Partners of the API: partners and their keys, donation intents, Idempotency-Key records,
and the gifts partners confirm.

A partner gift is booked through `donations_record_many` with the identity
(`partner:<name>`, the partner's transaction id); one received again with other terms is kept
as a feeds `Conflict` beside the stored gift and never booked. An intent's reference, written
in a transfer memo or carried by a gateway, names its campaign and its privacy choice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets as pysecrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_gift_problem
from solidarity.apps.donations.models import Channel, Donation
from solidarity.apps.donations.services import (
    DonationRefused,
    GiftInput,
    donations_record_many,
    privacy_reference_create,
)
from solidarity.apps.feeds.models import Conflict
from solidarity.apps.partners.models import ApiKey, IdempotencyRecord, Intent, Partner
from solidarity.core import webhooks
from solidarity.core.gift_rules import memo_room, transfer_memo
from solidarity.core.vietqr import VietQRError, vietqr_build, vietqr_payload
from solidarity.db import objects_insert_new

log = logging.getLogger("solidarity.partners")

SCOPES = ("intents:write", "gifts:write")
_PRIVACY = ("named", "masked", "anonymous")


class PartnerError(ValueError):
    """A refused request about partners, their keys or intents."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def partner_add(
    *, name: str, scopes: Iterable[str], rate_per_minute: int = 600
) -> tuple[Partner, str]:
    """Create a partner with one API key; the key is returned once and stored hashed."""
    scopes = sorted(set(scopes))
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise PartnerError(f"scopes must be among {', '.join(SCOPES)}")
    if Partner.objects.filter(name=name).exists():
        raise PartnerError(f"partner {name!r} exists")
    with transaction.atomic():
        partner = Partner.objects.create(name=name, scopes=scopes, rate_per_minute=rate_per_minute)
        key = api_key_create(partner=partner)
    return partner, key


def api_key_create(*, partner: Partner) -> str:
    key = "sk_" + pysecrets.token_urlsafe(32)
    ApiKey.objects.create(partner=partner, prefix=key[:10], digest=key_digest(key))
    return key


def partner_revoke(*, partner: Partner) -> Partner:
    """Revoke the partner and every key it holds."""
    with transaction.atomic():
        partner.active = False
        partner.save(update_fields=["active"])
        partner.keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    return partner


INTENT_REFERENCE_LENGTH = 10
"""An intent's reference: `G` and nine characters of Crockford's base 32."""


def intent_create(
    *,
    campaign: Campaign,
    amount_minor: int,
    donor_name: str = "",
    privacy: str = "masked",
    partner: Partner | None = None,
) -> tuple[Intent, dict[str, Any]]:
    """A donation intent: a reference to write in the transfer memo, and its VietQR payload."""
    problems = []
    if campaign.status != Campaign.Status.OPEN:
        problems.append(f"campaign {campaign.slug} is {campaign.status}, not open")
    amount = campaign_gift_problem(campaign, amount_minor)
    if amount is not None:
        problems.append(str(amount))
    if memo_room(campaign.code) < INTENT_REFERENCE_LENGTH:
        problems.append(
            f"campaign code {campaign.code} leaves no room for an intent's reference in a "
            "transfer memo"
        )
    if privacy not in _PRIVACY:
        problems.append("privacy must be named, masked or anonymous")
    account = campaign.accounts.order_by("id").first()
    if account is None:
        problems.append(f"campaign {campaign.slug} has no receiving account")
    if problems:
        raise PartnerError("; ".join(problems))
    assert account is not None
    for _ in range(5):
        reference = "G" + "".join(
            pysecrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
            for _ in range(INTENT_REFERENCE_LENGTH - 1)
        )
        memo = transfer_memo(campaign.code, reference)
        assert memo is not None  # room checked above
        try:
            with transaction.atomic():
                intent = Intent.objects.create(
                    reference=reference,
                    campaign=campaign,
                    partner=partner,
                    amount_minor=amount_minor,
                    currency=campaign.currency,
                    donor_name=donor_name[:120],
                    privacy=privacy,
                )
                # Its privacy choice holds on every channel that carries the reference,
                # a bank transfer with it in the memo included.
                privacy_reference_create(
                    reference=reference,
                    privacy=privacy,  # type: ignore[arg-type]
                    donor_name=donor_name,
                )
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("could not allocate an intent reference")
    try:
        payload = vietqr_build(
            vietqr_payload(
                bin=account.bin,
                account=account.number,
                amount=amount_minor if campaign.currency == "VND" else None,
                memo=memo,
            )
        )
    except VietQRError as exc:
        raise PartnerError(str(exc)) from None
    return intent, {
        "reference": reference,
        "campaign": campaign.slug,
        "amount": amount_minor,
        "currency": campaign.currency,
        "account": f"{account.bin}:{account.number}",
        "memo": memo,
        "vietqr": payload,
    }


def request_hash(body: Any) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


IDEMPOTENCY_RUNNING_SECONDS = 120
"""How long an Idempotency-Key stays "still running" (409) without a result: far longer than
a gift request takes (it books one gift: milliseconds, seconds under load). After it, the
request is taken to have died (its process killed, its connection cut mid-way) and the next
request with the key and the same body runs it again. Booking a gift is idempotent by the
partner's transaction id, so even a request that was only slow cannot book twice."""


def idempotency_begin(
    *, partner: Partner, key: str, digest: str, now: datetime | None = None
) -> tuple[IdempotencyRecord, bool]:
    """(record, fresh): fresh when this request owns the key and must run: the key is new,
    or its request died (no result after IDEMPOTENCY_RUNNING_SECONDS) and this request has
    the same body. `record.created_at` is when the request owning the key started."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                partner=partner, key=key, request_hash=digest
            ), True
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(partner=partner, key=key)
    died = now - timedelta(seconds=IDEMPOTENCY_RUNNING_SECONDS)
    if record.done or record.request_hash != digest or record.created_at > died:
        return record, False
    # One taker among concurrent retries: the row moves only while it still looks dead.
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, done=False, request_hash=digest, created_at=record.created_at
    ).update(created_at=now)
    if taken:
        log.warning("partner %s: Idempotency-Key %r of a request that died runs again",
                    partner.name, key)  # fmt: skip
        record.created_at = now
        return record, True
    record.refresh_from_db()
    return record, False


def idempotency_finish(*, record: IdempotencyRecord, status_code: int, response: Any) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        done=True, status_code=status_code, response=response
    )


def idempotency_abandon(*, record: IdempotencyRecord) -> None:
    """Forget a key whose request failed unexpectedly, so a retry runs it again."""
    IdempotencyRecord.objects.filter(pk=record.pk, done=False).delete()


@dataclass(frozen=True)
class PartnerGift:
    """What `partner_gift_record` did: the gift booked under the partner's transaction id,
    as stored (never the request's terms), and, when the request named other terms than the
    stored gift's, the names that differ (a `Conflict` was recorded and nothing booked)."""

    ref: str
    created: bool
    campaign: str
    amount_minor: int
    currency: str
    differs: tuple[str, ...] = ()


def partner_gift_record(
    *,
    partner: Partner,
    campaign: Campaign,
    transaction_id: str,
    amount_minor: int,
    currency: str,
    received_at: datetime,
    channel: str,
    donor_name: str,
    privacy: str,
    memo: str,
    request: str = "",
) -> PartnerGift:
    """Book a gift a partner confirms, identity (`partner:<name>`, its transaction id).

    A transaction id booked before is answered with the stored gift; when the request's
    campaign, amount or currency differ from it, the request (`request`, its body) is kept
    as a Conflict beside the stored gift and nothing is booked.

    A new gift the campaign's rule for one gift refuses (`campaign_gift_problem`: below its
    smallest or above its largest gift) is refused (DonationRefused), as the give page and
    intents refuse it: the partner is told at once and still holds the payment. Money that
    reached the campaign's own accounts is never refused for it (`banking.booking`)."""
    if channel not in (Channel.WALLET, Channel.CARD, Channel.QR, Channel.BANK_TRANSFER):
        raise DonationRefused(["channel must be wallet, card, qr or bank_transfer"])
    source = f"partner:{partner.name}"
    terms = {"campaign": campaign.slug, "amount": amount_minor, "currency": currency}
    stored = _partner_gift(source, transaction_id)
    if stored is None:
        problem = campaign_gift_problem(campaign, amount_minor)
        if problem is not None and currency == campaign.currency:  # else refused as such below
            raise DonationRefused([str(problem)])
        gift = GiftInput(
            amount_minor=amount_minor,
            currency=currency,
            received_at=received_at,
            channel=channel,
            source=source,
            source_ref=transaction_id,
            donor_name=donor_name,
            privacy=privacy if privacy in _PRIVACY else "masked",  # type: ignore[arg-type]
            memo=memo,
        )
        (result,) = donations_record_many(campaign=campaign, gifts=[gift])
        if result.created:
            return PartnerGift(result.public_ref, True, campaign.slug, amount_minor, currency)
        stored = _partner_gift(source, transaction_id)  # a concurrent request booked it first
        assert stored is not None
    before = {
        "campaign": stored.campaign.slug,
        "amount": stored.amount_minor,
        "currency": stored.currency,
    }
    differs = webhooks.terms_differ(before, terms)
    if differs:
        _partner_conflict_record(
            source=source,
            transaction_id=transaction_id,
            stored=stored,
            before=before,
            after=terms,
            differs=differs,
            request=request,
        )
    return PartnerGift(
        stored.public_ref, False, before["campaign"], stored.amount_minor, stored.currency,
        tuple(differs),
    )  # fmt: skip


def _partner_gift(source: str, transaction_id: str) -> Donation | None:
    return (
        Donation.objects.select_related("campaign")
        .filter(source=source, source_ref=transaction_id)
        .first()
    )


def _partner_conflict_record(
    *,
    source: str,
    transaction_id: str,
    stored: Donation,
    before: dict[str, Any],
    after: dict[str, Any],
    differs: list[str],
    request: str,
) -> None:
    log.warning(
        "%s: gift %s received again with another %s; recorded as a conflict, not booked",
        source, transaction_id, ", ".join(differs),
    )  # fmt: skip
    conflict = Conflict(
        source=source,
        provider_id=transaction_id,
        differs=", ".join(differs),
        stored={**before, "ref": stored.public_ref},
        received=after,
        body=request,
        version=webhooks.terms_version(after),
        donation=stored,
        received_at=timezone.now(),
    )
    with transaction.atomic():
        objects_insert_new([conflict], unique=("source", "provider_id", "version"))
