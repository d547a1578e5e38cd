"""Review decisions: a person assigns a held credit to a campaign (`review_assign`), marks it
not a gift (`review_reject`), or posts a return whose gift never came (`pending_reversal_post`);
who, when and why are recorded with each."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from solidarity.apps.banking.accounts import (
    AccountRef,
    AccountResolver,
    Target,
)
from solidarity.apps.banking.models import (
    AccountMovement,
    PendingReversal,
    ReviewCandidate,
    ReviewItem,
)
from solidarity.apps.banking.movements import movements_post
from solidarity.apps.banking.returns import pending_reversals_apply
from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.apps.donations.models import Channel
from solidarity.apps.donations.services import (
    GiftInput,
    RecordResult,
    donations_record_many,
)
from solidarity.apps.ledger.services import totals_apply
from solidarity.core.errors import Refused
from solidarity.core.matching import (
    donor_name_extract,
)
from solidarity.core.statements import (
    BankTransaction,
)


class ReviewRefused(Refused):
    """A review decision that cannot be made; `errors` says why. Nothing was written."""


def _item_close(item: ReviewItem, *, status: str, by: str, reason: str, **fields: Any) -> None:
    """Close an open item (row locked); the candidates' review_count drop by one."""
    updated = ReviewItem.objects.filter(pk=item.pk, status=ReviewItem.Status.OPEN).update(
        status=status, decided_by=by, decided_at=timezone.now(), decision_reason=reason, **fields
    )
    if not updated:
        raise ReviewRefused([f"review item {item.pk} was decided meanwhile"])
    for candidate in ReviewCandidate.objects.filter(item=item).select_related("campaign"):
        totals_apply(campaign=candidate.campaign, review=-1)


def _decision_start(by: User, reason: str, bin_: str, number: str) -> tuple[str, Target]:
    """Who decides (an accountant) and the account's Target; ReviewRefused without a reason
    or when the account has no campaign."""
    name = _decider(by)
    if not reason.strip():
        raise ReviewRefused(["a reason is required"])
    target = AccountResolver(account=AccountRef(bin_, number)).target_for(bin_, number)
    if not target.campaigns:
        raise ReviewRefused([f"account {bin_}:{number} has no campaign"])
    return name, target


def _decided_tx(
    row: ReviewItem | PendingReversal, *, direction: str, bank_ref: str, reverses: str | None
) -> BankTransaction:
    """The bank transaction a decided row stands for, under the row's own identity."""
    return BankTransaction(
        account=row.number,
        bin=row.bin,
        currency=row.currency,
        amount_minor=row.amount_minor,
        direction=direction,
        booked_at=row.booked_at,
        value_date=None,
        bank_ref=bank_ref or None,
        memo=row.memo,
        counterparty_name=None,
        counterparty_account=None,
        is_reversal=reverses is not None,
        reverses_ref=reverses,
        source_format="review",
        line=0,
        identity=row.source_ref,
    )


def _decider(by: User) -> str:
    from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN  # noqa: PLC0415
    from solidarity.apps.accounts.services import user_has_role  # noqa: PLC0415

    if not user_has_role(by, ACCOUNTANT, ADMIN):
        raise ReviewRefused([f"{by.get_username()} is not an accountant"])
    return by.get_username()


def review_assign(*, item: ReviewItem, campaign: Campaign, by: User) -> RecordResult:
    """Book an open review item as a gift to `campaign` (one of the account's campaigns),
    recording who decided and when; the gift keeps the transaction's identity. The
    campaign's rule for one gift does not refuse it: the money is in the account, and the
    rule's part was to hold it for this decision (`bank_transactions_book`)."""
    name = _decider(by)
    if item.status != ReviewItem.Status.OPEN:
        raise ReviewRefused([f"review item {item.pk} is already {item.status}"])
    row = ReceivingAccount.objects.filter(
        campaign=campaign, bin=item.bin, number=item.number
    ).first()
    if row is None:
        raise ReviewRefused([f"account {item.bin}:{item.number} is not one of {campaign.slug}'s"])
    gift = GiftInput(
        amount_minor=item.amount_minor,
        currency=item.currency,
        received_at=item.booked_at,
        channel=Channel.BANK_TRANSFER,
        source=item.source,
        source_ref=item.source_ref,
        donor_name=donor_name_extract(item.memo, item.counterparty_name or None) or "",
        memo=item.memo,
        account=row,
        sender_account=item.counterparty_account,
        bank_ref=item.bank_ref,
    )
    with transaction.atomic():
        (result,) = donations_record_many(campaign=campaign, gifts=[gift])
        _item_close(
            item,
            status=ReviewItem.Status.ASSIGNED,
            by=name,
            reason=f"assigned to {campaign.slug}",
            campaign=campaign,
            donation_id=result.donation_id,
        )
        if result.created and item.bank_ref:
            pending_reversals_apply(
                booked=[(item.bin, item.number, item.bank_ref, result.donation_id)]
            )
    item.refresh_from_db()
    return result


def review_reject(*, item: ReviewItem, by: User, reason: str) -> ReviewItem:
    """Mark an open review item as not a gift: the money is booked as a transfer into the
    account (`equity:transfers`), never as a gift; who, when and why are recorded."""
    name, target = _decision_start(by, reason, item.bin, item.number)
    if item.status != ReviewItem.Status.OPEN:
        raise ReviewRefused([f"review item {item.pk} is already {item.status}"])
    tx = _decided_tx(item, direction="credit", bank_ref=item.bank_ref, reverses=None)
    with transaction.atomic():
        # The log append inside movements_post is the last write that could wait (see
        # log_entries_append); the item row set after it is already locked by this transaction.
        _item_close(item, status=ReviewItem.Status.REJECTED, by=name, reason=reason.strip()[:200])
        (txn_id,) = movements_post(
            target.movement_campaign,
            [(tx, target, AccountMovement.Kind.TRANSFER_IN)],
            item.imported,
        )
        ReviewItem.objects.filter(pk=item.pk).update(movement_txn_id=txn_id)
    item.refresh_from_db()
    return item


def pending_reversal_post(*, pending: PendingReversal, by: User, reason: str) -> AccountMovement:
    """Book a waiting returned transfer as money out of the account (`transfer_out`), for
    when the gift it returns will never be in these books (received before they begin, or
    on another account); who, when and why are recorded, with a public log entry.

    Refused (ReviewRefused, nothing written) without a reason, for a non-accountant, or when
    the return was applied or posted meanwhile. A gift with its reference booked later is
    not reversed by it any more.
    """
    name, target = _decision_start(by, reason, pending.bin, pending.number)
    tx = _decided_tx(
        pending, direction="debit", bank_ref=pending.reverses_ref, reverses=pending.reverses_ref
    )
    with transaction.atomic():
        closed = PendingReversal.objects.filter(pk=pending.pk, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), decided_by=name, decision_reason=reason.strip()[:200]
        )
        if not closed:
            raise ReviewRefused([f"returned transfer {pending.pk} was settled meanwhile"])
        movements_post(
            target.movement_campaign,
            [(tx, target, AccountMovement.Kind.TRANSFER_OUT)],
            pending.imported,
        )
    pending.refresh_from_db()
    return AccountMovement.objects.get(source=pending.source, source_ref=pending.source_ref)
