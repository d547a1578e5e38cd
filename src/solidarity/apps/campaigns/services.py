"""Campaigns' rules and life cycle: validating settings and accounts, opening, closing, editing,
photos. What the log announces (creating a campaign with its accounts, adding and retiring
accounts, updates) is `solidarity.apps.transparency.announcements`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from solidarity.apps.campaigns.models import (
    LANGUAGES,
    Campaign,
    CampaignPhoto,
)
from solidarity.core.banks import bank_by_key
from solidarity.core.errors import Refused
from solidarity.core.money import Money, MoneyError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9]{2,32}$")


class CampaignError(Refused):
    """A campaign request that cannot be carried out; `errors` lists every reason."""


@dataclass(frozen=True, slots=True)
class AccountInput:
    bin: str
    number: str
    holder: str = ""


def slug_errors(slug: str) -> list[str]:
    """Why `slug` cannot name a new campaign; empty if it can."""
    if not _SLUG.match(slug):
        return [f"slug {slug!r}: lowercase letters, digits and dashes, up to 64"]
    if Campaign.objects.filter(slug=slug).exists():
        return [f"slug {slug!r} is taken"]
    return []


def account_errors(account: AccountInput) -> list[str]:
    errors = []
    if bank_by_key(account.bin) is None:
        errors.append(f"account {account.bin}:{account.number}: unknown bank {account.bin}")
    if not account.number.isdigit() or not 1 <= len(account.number) <= 19:
        errors.append(f"account {account.bin}:{account.number}: the number must be 1 to 19 digits")
    return errors


def campaign_errors(
    *,
    code: str,
    names: dict[str, str],
    goal_minor: int,
    currency: str,
    opens_at: datetime,
    days: int,
    min_gift_minor: int | None,
    max_gift_minor: int | None,
    approvals_required: int,
) -> list[str]:
    """Every reason the campaign's settings are refused (empty when they are valid)."""
    errors = []
    if not _CODE.match(code):
        errors.append(f"code {code!r}: 2 to 32 letters or digits")
    unknown = set(names) - set(LANGUAGES)
    if unknown:
        errors.append(f"names in unknown languages {sorted(unknown)}; use {LANGUAGES}")
    if not any(v.strip() for v in names.values()):
        errors.append("a campaign needs a name in at least one language")
    try:
        Money(goal_minor, currency)
    except MoneyError as exc:
        errors.append(f"goal: {exc}")
    if type(goal_minor) is not int or goal_minor <= 0:
        errors.append("goal must be a positive amount")
    if days <= 0:
        errors.append("days must be positive")
    if opens_at.tzinfo is None:
        errors.append("opening time must carry a time zone")
    if (
        min_gift_minor is not None
        and max_gift_minor is not None
        and min_gift_minor > max_gift_minor
    ):
        errors.append("minimum gift is above the maximum gift")
    for label, value in (("minimum gift", min_gift_minor), ("maximum gift", max_gift_minor)):
        if value is not None and value <= 0:
            errors.append(f"{label} must be a positive amount")
    if approvals_required < 1:
        errors.append("at least one approval is required for a tranche")
    return errors


_TRANSITIONS = {
    Campaign.Status.OPEN: (Campaign.Status.DRAFT,),
    Campaign.Status.CLOSED: (Campaign.Status.OPEN,),
}


def campaign_status_set(*, campaign: Campaign, status: str) -> Campaign:
    """draft → open → closed; anything else is refused."""
    allowed = _TRANSITIONS.get(Campaign.Status(status), ())
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(status=status)
        if not updated:
            campaign.refresh_from_db()
            raise CampaignError([f"campaign {campaign.slug} is {campaign.status}; cannot {status}"])
    campaign.refresh_from_db()
    return campaign


def campaign_open(*, campaign: Campaign) -> Campaign:
    return campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)


def campaign_close(*, campaign: Campaign) -> Campaign:
    return campaign_status_set(campaign=campaign, status=Campaign.Status.CLOSED)


def campaign_edit(
    *,
    campaign: Campaign,
    code: str,
    names: dict[str, str],
    goal_minor: int,
    opens_at: datetime,
    days: int,
    descriptions: dict[str, str] | None = None,
    keywords: Sequence[str] = (),
    beneficiary: str = "",
    min_gift_minor: int | None = None,
    max_gift_minor: int | None = None,
    approvals_required: int = 2,
) -> Campaign:
    """Change a campaign's settings (not its slug, currency or status); CampaignError with
    every reason, nothing written, if invalid. A closed campaign is not edited."""
    errors = campaign_errors(
        code=code,
        names=names,
        goal_minor=goal_minor,
        currency=campaign.currency,
        opens_at=opens_at,
        days=days,
        min_gift_minor=min_gift_minor,
        max_gift_minor=max_gift_minor,
        approvals_required=approvals_required,
    )
    if campaign.status == Campaign.Status.CLOSED:
        errors.append(f"campaign {campaign.slug} is closed")
    if errors:
        raise CampaignError(errors)
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            code=code.upper(),
            keywords=[k.strip() for k in keywords if k.strip()],
            names={k: v.strip() for k, v in names.items() if v.strip()},
            descriptions={k: v for k, v in (descriptions or {}).items() if v.strip()},
            goal_minor=goal_minor,
            opens_at=opens_at,
            days=days,
            beneficiary=beneficiary,
            min_gift_minor=min_gift_minor,
            max_gift_minor=max_gift_minor,
            approvals_required=approvals_required,
        )
    campaign.refresh_from_db()
    return campaign


def campaigns_close_due(*, now: datetime | None = None) -> list[str]:
    """Close every open campaign whose closing time has passed; the slugs closed."""
    moment = now or timezone.now()
    closed = []
    for campaign in Campaign.objects.filter(status=Campaign.Status.OPEN):
        if campaign.state(moment) == Campaign.Status.CLOSED:
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.OPEN).update(
                status=Campaign.Status.CLOSED
            )
            closed.append(campaign.slug)
    return closed


PHOTO_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
PHOTO_MAX_BYTES = 8 * 2**20


def photo_errors(*, name: str, size: int) -> list[str]:
    """Why an uploaded photo is refused (type by name, size)."""
    errors = []
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in PHOTO_TYPES:
        errors.append(f"photo {name!r}: use JPEG, PNG or WebP")
    if size > PHOTO_MAX_BYTES:
        errors.append(f"photo {name!r} is larger than {PHOTO_MAX_BYTES // 2**20} MB")
    return errors


def campaign_photo_add(
    *, campaign: Campaign, name: str, content: bytes, caption: str = ""
) -> CampaignPhoto:
    """Store a photo of the campaign through the default storage; CampaignError if refused."""
    errors = photo_errors(name=name, size=len(content))
    if errors:
        raise CampaignError(errors)
    with transaction.atomic():
        photo = CampaignPhoto(campaign=campaign, caption=caption[:200])
        photo.image.save(upload_name(name), ContentFile(content), save=False)
        photo.save()
    return photo


def upload_name(name: str) -> str:
    """A stored file's name made from an uploaded one: safe characters, at most 80."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit("/", 1)[-1]).strip("-.") or "photo"
    return base[-80:]
