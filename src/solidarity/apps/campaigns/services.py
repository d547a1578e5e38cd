"""Creating campaigns, their receiving accounts, and moving them through their life cycle."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from solidarity.apps.campaigns.models import LANGUAGES, Campaign, ReceivingAccount
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.apps.transparency.services import log_entries_append, rfc3339
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


def account_errors(account: AccountInput) -> list[str]:
    errors = []
    if bank_by_key(account.bin) is None:
        errors.append(f"account {account.bin}:{account.number}: unknown bank {account.bin}")
    if not account.number.isdigit() or not 1 <= len(account.number) <= 19:
        errors.append(f"account {account.bin}:{account.number}: the number must be 1 to 19 digits")
    return errors


def campaign_create(
    *,
    slug: str,
    code: str,
    names: dict[str, str],
    goal_minor: int,
    currency: str,
    opens_at: datetime,
    days: int,
    descriptions: dict[str, str] | None = None,
    keywords: Sequence[str] = (),
    accounts: Sequence[AccountInput] = (),
    beneficiary: str = "",
    min_gift_minor: int | None = None,
    max_gift_minor: int | None = None,
    approvals_required: int = 2,
) -> Campaign:
    """Create a draft campaign with its accounts; CampaignError (nothing written) if invalid."""
    errors = []
    if not _SLUG.match(slug):
        errors.append(f"slug {slug!r}: lowercase letters, digits and dashes, up to 64")
    elif Campaign.objects.filter(slug=slug).exists():
        errors.append(f"slug {slug!r} is taken")
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
    if approvals_required < 1:
        errors.append("at least one approval is required for a tranche")
    for account in accounts:
        errors.extend(account_errors(account))
    if errors:
        raise CampaignError(errors)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            slug=slug,
            code=code.upper(),
            keywords=[k for k in keywords if k.strip()],
            names={k: v for k, v in names.items() if v.strip()},
            descriptions=descriptions or {},
            goal_minor=goal_minor,
            currency=currency,
            opens_at=opens_at,
            days=days,
            beneficiary=beneficiary,
            min_gift_minor=min_gift_minor,
            max_gift_minor=max_gift_minor,
            approvals_required=approvals_required,
        )
        CampaignTotals.objects.create(campaign=campaign)
        for account in accounts:
            receiving_account_add(campaign=campaign, account=account)
    return campaign


def receiving_account_add(*, campaign: Campaign, account: AccountInput) -> ReceivingAccount:
    """Add an official account and announce it in the campaign's log."""
    errors = account_errors(account)
    if ReceivingAccount.objects.filter(
        campaign=campaign, bin=account.bin, number=account.number
    ).exists():
        errors.append(f"account {account.bin}:{account.number} is already {campaign.slug}'s")
    if errors:
        raise CampaignError(errors)
    with transaction.atomic():
        row = ReceivingAccount.objects.create(
            campaign=campaign, bin=account.bin, number=account.number, holder=account.holder
        )
        bank = bank_by_key(account.bin)
        # A bank without a NAPAS BIN is announced by its code, never as a BIN.
        no_bin = {"bank_code": account.bin} if bank and not bank.vietqr else {}
        log_entries_append(
            campaign=campaign,
            entries=[
                (
                    "account",
                    f"{account.bin}:{account.number}",
                    {
                        "kind": "account",
                        "campaign": campaign.slug,
                        "action": "added",
                        "at": rfc3339(timezone.now()),
                        "bank_bin": "" if no_bin else account.bin,
                        **no_bin,
                        "bank": bank.short_name if bank else "",
                        "account": account.number,
                        "holder": account.holder,
                    },
                )
            ],
        )
    return row


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
