"""What a campaign's log announces about the campaign itself: creating it with its receiving
accounts, adding and retiring an account (`account` entries), publishing an update (`update`).

Each service writes its rows and appends the log entry in one transaction, so an account or an
update exists exactly when its announcement is queued for the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign, CampaignUpdate, ReceivingAccount
from solidarity.apps.campaigns.services import (
    AccountInput,
    CampaignError,
    account_errors,
    campaign_errors,
    photo_errors,
    slug_errors,
    upload_name,
)
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core.tlog.bodies import account_body, update_body


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
    errors = slug_errors(slug)
    errors += campaign_errors(
        code=code,
        names=names,
        goal_minor=goal_minor,
        currency=currency,
        opens_at=opens_at,
        days=days,
        min_gift_minor=min_gift_minor,
        max_gift_minor=max_gift_minor,
        approvals_required=approvals_required,
    )
    for account in accounts:
        errors.extend(account_errors(account))
    if errors:
        raise CampaignError(errors)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            slug=slug,
            code=code.upper(),
            keywords=[k.strip() for k in keywords if k.strip()],
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
        log_entries_append(
            campaign=campaign,
            entries=[_account_entry(campaign, row, action="added", at=timezone.now())],
        )
    return row


def _account_entry(
    campaign: Campaign, account: ReceivingAccount, *, action: str, at: datetime
) -> tuple[str, str, dict[str, object]]:
    """The `account` log entry announcing (`added`) or retiring (`retired`) an official
    account: (kind, ref, body)."""
    body = account_body(
        campaign=campaign.slug,
        action=action,
        at=at,
        bank_key=account.bin,
        number=account.number,
        holder=account.holder,
    )
    return ("account", f"{account.bin}:{account.number}", body)


def receiving_account_retire(*, account: ReceivingAccount) -> ReceivingAccount:
    """Retire an official account (donors must no longer pay into it) and announce it in the
    campaign's log; CampaignError if it is already retired."""
    with transaction.atomic():
        updated = ReceivingAccount.objects.filter(pk=account.pk, retired_at__isnull=True).update(
            retired_at=timezone.now()
        )
        account.refresh_from_db()
        if not updated:
            raise CampaignError([f"account {account} is already retired"])
        campaign = account.campaign
        at = account.retired_at or timezone.now()
        log_entries_append(
            campaign=campaign, entries=[_account_entry(campaign, account, action="retired", at=at)]
        )
    return account


def campaign_update_publish(
    *,
    campaign: Campaign,
    title: str,
    text: str,
    by: str = "",
    photo: tuple[str, bytes] | None = None,
    tranche_id: int | None = None,
) -> CampaignUpdate:
    """Publish news of the campaign and announce it in the log (`update`: title and the
    SHA-256 of the text, nothing else); CampaignError with every reason if refused."""
    errors = []
    title, text = title.strip(), text.strip()
    if not title:
        errors.append("an update needs a title")
    elif len(title) > 200:
        errors.append("the title is longer than 200 characters")
    if not text:
        errors.append("an update needs a text")
    if photo is not None:
        errors += photo_errors(name=photo[0], size=len(photo[1]))
    if campaign.status == Campaign.Status.DRAFT:
        errors.append(f"campaign {campaign.slug} is a draft; open it first")
    if errors:
        raise CampaignError(errors)
    digest = hashlib.sha256(text.encode()).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        update = CampaignUpdate(
            campaign=campaign,
            title=title,
            text=text,
            tranche_id=tranche_id,
            text_sha256=digest,
            published_at=now,
            published_by=by,
        )
        if photo is not None:
            update.photo.save(upload_name(photo[0]), ContentFile(photo[1]), save=False)
        update.save()
        log_entries_append(
            campaign=campaign,
            entries=[
                (
                    "update",
                    f"update-{update.pk}",
                    update_body(
                        campaign=campaign.slug,
                        at=now,
                        title=title,
                        text_sha256=digest,
                        tranche=tranche_id,
                    ),
                )
            ],
        )
    return update
