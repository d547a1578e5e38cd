"""Posting journal transactions and keeping the maintained totals exact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.ledger.models import CampaignTotals, JournalTransaction, LedgerAccount, Posting
from solidarity.core import ledger as core
from solidarity.db import db_datetime, rows_insert


@dataclass(frozen=True, slots=True)
class TransactionInput:
    kind: str
    postings: tuple[core.Posting, ...]
    occurred_at: datetime
    memo: str = ""
    reverses_id: int | None = None


def ledger_account_ids(*, codes: Sequence[str], campaign: Campaign | None) -> dict[str, int]:
    """Ids of the ledger accounts named by `codes`, creating missing ones."""
    wanted = set(codes)
    found = dict(LedgerAccount.objects.filter(code__in=wanted).values_list("code", "id"))
    missing = wanted - found.keys()
    if missing:
        LedgerAccount.objects.bulk_create(
            [LedgerAccount(code=c, campaign=campaign) for c in sorted(missing)],
            ignore_conflicts=True,
        )
        found = dict(LedgerAccount.objects.filter(code__in=wanted).values_list("code", "id"))
    return found


def transactions_post(*, campaign: Campaign, items: Sequence[TransactionInput]) -> list[int]:
    """Post balanced transactions, in order, and return their ids; LedgerError (nothing
    written) if any is not balanced.

    Must be called inside `transaction.atomic` together with whatever the postings record.
    """
    errors = []
    for i, item in enumerate(items):
        try:
            core.transaction_build(item.kind, item.postings, item.memo)
        except core.LedgerError as exc:
            errors.extend(f"transaction {i}: {e}" for e in exc.errors)
    if errors:
        raise core.LedgerError(errors)
    assert transaction.get_connection().in_atomic_block, "transactions_post needs atomic"
    codes = {p.account for item in items for p in item.postings}
    account_ids = ledger_account_ids(codes=sorted(codes), campaign=campaign)
    now = db_datetime(timezone.now())
    ids = rows_insert(
        JournalTransaction._meta.db_table,
        ("campaign_id", "kind", "occurred_at", "booked_at", "memo", "reverses_id"),
        [
            (
                campaign.pk,
                item.kind,
                db_datetime(item.occurred_at),
                now,
                item.memo[:500],
                item.reverses_id,
            )
            for item in items
        ],
        returning=True,
    )
    rows_insert(
        Posting._meta.db_table,
        ("txn_id", "account_id", "amount_minor", "currency"),
        [
            (txn_id, account_ids[p.account], p.amount.minor, p.amount.currency)
            for txn_id, item in zip(ids, items, strict=True)
            for p in item.postings
        ],
    )
    return ids


def totals_apply(
    *,
    campaign: Campaign,
    raised: int = 0,
    donations: int = 0,
    reversals: int = 0,
    reversed_minor: int = 0,
    donors: int = 0,
    disbursed: int = 0,
    review: int = 0,
) -> CampaignTotals:
    """Add to the maintained totals and return them as now stored (row locked until commit)."""
    CampaignTotals.objects.filter(campaign=campaign).update(
        raised_minor=F("raised_minor") + raised,
        donation_count=F("donation_count") + donations,
        reversal_count=F("reversal_count") + reversals,
        reversed_minor=F("reversed_minor") + reversed_minor,
        donor_count=F("donor_count") + donors,
        disbursed_minor=F("disbursed_minor") + disbursed,
        review_count=F("review_count") + review,
    )
    return CampaignTotals.objects.get(campaign=campaign)


def unbalanced_transactions() -> list[tuple[int, str, int]]:
    """(txn id, currency, sum) for every transaction whose postings do not sum to zero."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT txn_id, currency, SUM(amount_minor) FROM ledger_posting "
            "GROUP BY txn_id, currency HAVING SUM(amount_minor) <> 0 "
            "UNION ALL "
            "SELECT t.id, '', 0 FROM ledger_journaltransaction t "
            "WHERE (SELECT COUNT(*) FROM ledger_posting p WHERE p.txn_id = t.id) < 2"
        )
        return [(int(a), str(b), int(c)) for a, b, c in cur.fetchall()]
