"""Booking gifts and reversals. Every channel (statement, webhook, API, demo) books here.

Exactly once: (source, source_ref) is unique in the database. A gift already booked is
reported back as not created, even when another process booked it a moment earlier.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from solidarity import config
from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.apps.donations.models import (
    Channel,
    Donation,
    DonationPrivate,
    DonorKey,
    Reversal,
)
from solidarity.apps.ledger.services import TransactionInput, totals_apply, transactions_post
from solidarity.apps.transparency.services import log_entries_append, rfc3339
from solidarity.core import ledger as core_ledger
from solidarity.core.money import Money, MoneyError
from solidarity.core.privacy import (
    PrivacyChoice,
    commitment,
    donor_publish,
    memo_mask,
    public_ref_derive,
)


class DonationRefused(ValueError):
    """Gifts that cannot be booked; `errors` names each one. Nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class GiftInput:
    """One gift as a channel reports it. Private fields never reach the public."""

    amount_minor: int
    currency: str
    received_at: datetime
    channel: str
    source: str
    source_ref: str
    donor_name: str = ""
    privacy: PrivacyChoice = "masked"
    memo: str = ""
    account: ReceivingAccount | None = None
    sender_account: str = ""
    bank_ref: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordResult:
    donation: Donation
    created: bool


def _ref_key() -> bytes:
    return config.secret_file("public_ref_key").encode()


def _donor_key(gift: GiftInput) -> str | None:
    """A keyed hash of the sender's account, or None when the sender is unknown."""
    if not gift.sender_account.strip():
        return None
    key = config.secret_file("donor_key").encode()
    ident = "".join(ch for ch in gift.sender_account if ch.isalnum()).upper()
    return hmac.new(key, ident.encode(), hashlib.sha256).hexdigest()


def gift_errors(campaign: Campaign, gift: GiftInput, where: str) -> list[str]:
    """Every reason `gift` cannot be booked to `campaign`."""
    errors = []
    if campaign.status != Campaign.Status.OPEN:
        errors.append(f"{where}: campaign {campaign.slug} is {campaign.status}, not open")
    if type(gift.amount_minor) is not int or gift.amount_minor <= 0:
        errors.append(f"{where}: amount must be a positive whole number of minor units")
    if gift.currency != campaign.currency:
        errors.append(f"{where}: gift in {gift.currency} to a campaign kept in {campaign.currency}")
    else:
        try:
            Money(gift.amount_minor, gift.currency)
        except MoneyError as exc:
            errors.append(f"{where}: {exc}")
    if gift.channel not in Channel.values:
        errors.append(f"{where}: unknown channel {gift.channel!r}")
    if not gift.source or not gift.source_ref:
        errors.append(f"{where}: source and source_ref are required")
    if gift.received_at.tzinfo is None:
        errors.append(f"{where}: received_at must carry a time zone")
    if gift.account is not None and gift.account.campaign_id != campaign.pk:
        errors.append(f"{where}: account {gift.account} is not one of {campaign.slug}'s")
    return errors


def donation_record(*, campaign: Campaign, gift: GiftInput) -> RecordResult:
    """Book one gift atomically; DonationRefused (nothing written) when it cannot be."""
    return donations_record_many(campaign=campaign, gifts=[gift])[0]


def donations_record_many(*, campaign: Campaign, gifts: Sequence[GiftInput]) -> list[RecordResult]:
    """Book gifts all or nothing, in order; already-booked ones come back `created=False`.

    Safe against concurrent bookers of the same gifts: the unique constraint decides and
    the loser re-reads the winner's row.
    """
    errors = [e for i, g in enumerate(gifts) for e in gift_errors(campaign, g, f"gift {i}")]
    if errors:
        raise DonationRefused(errors)
    with transaction.atomic():
        return _record_batch(campaign, gifts)


def _existing(gifts: Sequence[GiftInput]) -> dict[tuple[str, str], Donation]:
    found: dict[tuple[str, str], Donation] = {}
    by_source: dict[str, list[str]] = {}
    for g in gifts:
        by_source.setdefault(g.source, []).append(g.source_ref)
    for source, refs in by_source.items():
        for start in range(0, len(refs), 900):
            chunk = refs[start : start + 900]
            for d in Donation.objects.filter(source=source, source_ref__in=chunk):
                found[(d.source, d.source_ref)] = d
    return found


def _record_batch(campaign: Campaign, gifts: Sequence[GiftInput]) -> list[RecordResult]:
    existing = _existing(gifts)
    fresh: dict[tuple[str, str], GiftInput] = {}
    for g in gifts:
        ident = (g.source, g.source_ref)
        if ident not in existing and ident not in fresh:
            fresh[ident] = g
    created: dict[tuple[str, str], Donation] = {}
    if fresh:
        try:
            with transaction.atomic():
                created = _insert(campaign, list(fresh.values()))
        except IntegrityError:
            # Another booker won some of these: book the rest one at a time.
            for ident, g in fresh.items():
                try:
                    with transaction.atomic():
                        created.update(_insert(campaign, [g]))
                except IntegrityError:
                    existing[ident] = Donation.objects.get(source=ident[0], source_ref=ident[1])
    results = []
    seen: set[tuple[str, str]] = set()
    for g in gifts:
        ident = (g.source, g.source_ref)
        if ident in created and ident not in seen:
            results.append(RecordResult(created[ident], True))
            seen.add(ident)
        else:
            results.append(RecordResult(existing.get(ident) or created[ident], False))
    return results


def _source_account(gift: GiftInput) -> str:
    if gift.account is not None:
        return gift.account.ledger_code
    return f"asset:clearing:{gift.channel}"


def _insert(campaign: Campaign, gifts: Sequence[GiftInput]) -> dict[tuple[str, str], Donation]:
    """Insert gifts that are not booked yet. IntegrityError if one was booked meanwhile."""
    ref_key = _ref_key()
    txns = transactions_post(
        campaign=campaign,
        items=[
            TransactionInput(
                kind="donation",
                postings=core_ledger.gift_postings(
                    source_account=_source_account(g),
                    campaign=campaign.slug,
                    amount=Money(g.amount_minor, g.currency),
                ),
                occurred_at=g.received_at,
            )
            for g in gifts
        ],
    )
    donations = Donation.objects.bulk_create(
        [
            Donation(
                campaign=campaign,
                txn=txn,
                public_ref=public_ref_derive(ref_key, g.source, g.source_ref),
                amount_minor=g.amount_minor,
                currency=g.currency,
                received_at=g.received_at,
                channel=g.channel,
                display_name=donor_publish(g.privacy, g.donor_name),
                memo_public=memo_mask(g.memo)[:500],
                source=g.source,
                source_ref=g.source_ref,
                bank_ref=g.bank_ref[:64],
                account=g.account,
            )
            for txn, g in zip(txns, gifts, strict=True)
        ],
        batch_size=2000,
    )
    privates = []
    entries = []
    for d, g in zip(donations, gifts, strict=True):
        salt = secrets.token_bytes(16)
        private = {
            "donor_name": g.donor_name,
            "memo": g.memo,
            "ref": d.public_ref,
            "sender_account": g.sender_account,
            "source": g.source,
            "source_ref": g.source_ref,
        }
        digest = commitment(salt, private)
        privates.append(
            DonationPrivate(
                donation=d,
                donor_name=g.donor_name[:200],
                sender_account=g.sender_account[:64],
                memo=g.memo,
                salt=salt,
                commitment=digest,
            )
        )
        entries.append(("donation", d.public_ref, donation_entry(campaign, d, digest)))
    DonationPrivate.objects.bulk_create(privates, batch_size=2000)
    log_entries_append(campaign=campaign, entries=entries)
    new_donors = _donor_keys_add(campaign, gifts)
    totals = totals_apply(
        campaign=campaign,
        raised=sum(g.amount_minor for g in gifts),
        donations=len(gifts),
        donors=new_donors,
    )
    if campaign.goal_reached_at is None and totals.raised_minor >= campaign.goal_minor:
        goal_reached_update(campaign=campaign)
    return {(d.source, d.source_ref): d for d in donations}


def donation_entry(campaign: Campaign, donation: Donation, digest: str) -> dict[str, Any]:
    """The log entry of a gift: exactly what the privacy policy publishes."""
    return {
        "kind": "donation",
        "campaign": campaign.slug,
        "amount": donation.amount_minor,
        "currency": donation.currency,
        "at": rfc3339(donation.received_at),
        "channel": donation.channel,
        "donor": donation.display_name,
        "memo": donation.memo_public,
        "ref": donation.public_ref,
        "commit": digest,
    }


def _donor_keys_add(campaign: Campaign, gifts: Sequence[GiftInput]) -> int:
    """Record donor keys not seen before; return how many were new."""
    keys = sorted({k for g in gifts if (k := _donor_key(g))})
    added = 0
    table = DonorKey._meta.db_table
    with connection.cursor() as cur:
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params: list[object] = []
            for k in chunk:
                params.extend((campaign.pk, k))
            cur.execute(
                f"INSERT INTO {table} (campaign_id, key) VALUES {values} "  # noqa: S608 (table from model meta, values bound)
                "ON CONFLICT (campaign_id, key) DO NOTHING",
                params,
            )
            added += max(cur.rowcount, 0)
    return added


def goal_reached_update(*, campaign: Campaign) -> None:
    """Record when the cumulative net amount, in time order, first reached the goal."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT at FROM ("
            " SELECT at, SUM(amount) OVER (ORDER BY at, seq) AS cum FROM ("
            "  SELECT received_at AS at, amount_minor AS amount, id AS seq"
            "  FROM donations_donation WHERE campaign_id = %s"
            "  UNION ALL"
            "  SELECT r.reversed_at, -d.amount_minor, -r.id FROM donations_reversal r"
            "  JOIN donations_donation d ON d.id = r.donation_id WHERE d.campaign_id = %s"
            " ) moves"
            ") running WHERE cum >= %s ORDER BY at LIMIT 1",
            [campaign.pk, campaign.pk, campaign.goal_minor],
        )
        row = cur.fetchone()
    if row is None:
        return
    reached = row[0]
    if isinstance(reached, str):  # SQLite returns UTC text from a raw query
        reached = datetime.fromisoformat(reached)
    if reached.tzinfo is None:
        reached = reached.replace(tzinfo=UTC)
    Campaign.objects.filter(pk=campaign.pk, goal_reached_at__isnull=True).update(
        goal_reached_at=reached
    )
    campaign.refresh_from_db(fields=["goal_reached_at"])


def donation_reverse(
    *,
    donation: Donation,
    source: str,
    source_ref: str,
    reversed_at: datetime,
    reason: str = "",
) -> tuple[Reversal, bool]:
    """Reverse a booked gift once; returns (reversal, created)."""
    found = Reversal.objects.filter(Q(source=source, source_ref=source_ref) | Q(donation=donation))
    if (existing := found.first()) is not None:
        return existing, False
    campaign = donation.campaign
    try:
        with transaction.atomic():
            (txn,) = transactions_post(
                campaign=campaign,
                items=[
                    TransactionInput(
                        kind="reversal",
                        postings=tuple(
                            core_ledger.Posting(p.account, -p.amount)
                            for p in core_ledger.gift_postings(
                                source_account=(
                                    donation.account.ledger_code
                                    if donation.account
                                    else f"asset:clearing:{donation.channel}"
                                ),
                                campaign=campaign.slug,
                                amount=Money(donation.amount_minor, donation.currency),
                            )
                        ),
                        occurred_at=reversed_at,
                        memo=reason,
                        reverses_id=donation.txn_id,
                    )
                ],
            )
            reversal = Reversal.objects.create(
                donation=donation,
                txn=txn,
                source=source,
                source_ref=source_ref,
                reversed_at=reversed_at,
                reason=reason[:200],
            )
            log_entries_append(
                campaign=campaign,
                entries=[
                    (
                        "reversal",
                        donation.public_ref,
                        {
                            "kind": "reversal",
                            "campaign": campaign.slug,
                            "amount": donation.amount_minor,
                            "currency": donation.currency,
                            "at": rfc3339(reversed_at),
                            "channel": donation.channel,
                            "ref": donation.public_ref,
                            "reason": reason,
                        },
                    )
                ],
            )
            totals_apply(
                campaign=campaign,
                raised=-donation.amount_minor,
                donations=-1,
                reversals=1,
                reversed_minor=donation.amount_minor,
            )
    except IntegrityError:
        return Reversal.objects.get(donation=donation), False
    return reversal, True
