"""Account movements: what comes into or goes out of a receiving account that is not a gift
(bank fees, transfers in, refunds out), each booked as one journal transaction with its
log entry, exactly once per bank transaction identity (`movements_book`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Model

from solidarity.apps.banking.accounts import (
    Target,
)
from solidarity.apps.banking.models import (
    AccountMovement,
    PendingReversal,
    ReviewItem,
)
from solidarity.apps.banking.report import BookReport
from solidarity.apps.banking.selectors import existing_refs
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation, Reversal
from solidarity.apps.ledger.services import TransactionInput, transactions_post
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core import ledger as core_ledger
from solidarity.core.matching import (
    memo_normalize,
)
from solidarity.core.money import Money
from solidarity.core.statements import (
    BankTransaction,
)
from solidarity.core.tlog.bodies import account_movement_body
from solidarity.db import db_datetime, rows_insert

_FEE_WORDS = ("phi", "fee", "charge", "commission", "bankcharge", "thuphi", "thuephi")


_FEE_PHRASES = ("phidichvu", "phiquanly", "phichuyen", "servicefee", "bankcharge", "kosten")


def _is_fee(memo: str) -> bool:
    """A bank charge: the memo starts with a fee word (`Phi dich vu SMS`, `Fee`, ...)."""
    norm = memo_normalize(memo)
    return norm.startswith(_FEE_WORDS) or any(w in norm for w in _FEE_PHRASES)


def _movement_kind(tx: BankTransaction) -> str:
    if tx.direction == "credit":
        return AccountMovement.Kind.TRANSFER_IN
    return AccountMovement.Kind.FEE if _is_fee(tx.memo) else AccountMovement.Kind.TRANSFER_OUT


def _movement_postings(tx: BankTransaction, target: Target, kind: str) -> TransactionInput:
    amount = Money(tx.amount_minor, tx.currency)
    other = (
        f"expense:fees:{target.bin}:{target.number}"
        if kind == AccountMovement.Kind.FEE
        else f"equity:transfers:{target.bin}:{target.number}"
    )
    inflow = amount if tx.direction == "credit" else -amount
    return TransactionInput(
        kind=f"movement_{kind}",
        postings=(
            core_ledger.Posting(target.ledger_code, inflow),
            core_ledger.Posting(other, -inflow),
        ),
        occurred_at=tx.booked_at,
        memo=f"{kind} {tx.bank_ref or ''}".strip(),
    )


def movements_book(
    movements: Sequence[tuple[BankTransaction, Target]],
    imported: Model | None,
    report: BookReport,
) -> None:
    """Post non-gift movements once each, with a public log entry (amount, kind, account)."""
    if not movements:
        return
    pairs = [(t.source, tx.identity) for tx, t in movements]
    # Another format may have recognised this transaction as a gift or a return.
    done: set[tuple[str, str]] = set()
    for model in (AccountMovement, Reversal, PendingReversal, Donation, ReviewItem):
        done |= existing_refs(model, pairs)
    by_campaign: dict[int, list[tuple[BankTransaction, Target, str]]] = defaultdict(list)
    campaigns: dict[int, Campaign] = {}
    for (tx, target), pair in zip(movements, pairs, strict=True):
        if pair in done:
            report.duplicates += 1
            continue
        done.add(pair)
        c = target.movement_campaign
        campaigns[c.pk] = c
        by_campaign[c.pk].append((tx, target, _movement_kind(tx)))
    for campaign_id, items in by_campaign.items():
        report.not_gifts += len(movements_post(campaigns[campaign_id], items, imported))


def movements_post(
    campaign: Campaign,
    items: Sequence[tuple[BankTransaction, Target, str]],
    imported: Model | None,
) -> list[int]:
    """Post movements (rows, journal transactions, log entries); their transaction ids."""
    txn_ids = transactions_post(
        campaign=campaign,
        items=[_movement_postings(tx, target, kind) for tx, target, kind in items],
    )
    rows_insert(
        AccountMovement._meta.db_table,
        (
            "source",
            "source_ref",
            "imported_id",
            "campaign_id",
            "txn_id",
            "kind",
            "amount_minor",
            "currency",
            "booked_at",
            "bank_ref",
            "memo",
        ),
        [
            (
                target.source,
                tx.identity,
                imported.pk if imported else None,
                campaign.pk,
                txn_id,
                kind,
                tx.amount_minor,
                tx.currency,
                db_datetime(tx.booked_at),
                (tx.bank_ref or "")[:64],
                tx.memo,
            )
            for txn_id, (tx, target, kind) in zip(txn_ids, items, strict=True)
        ],
    )
    log_entries_append(
        campaign=campaign,
        entries=[
            (
                "account_movement",
                f"m{txn_id}",
                account_movement_body(
                    campaign=campaign.slug,
                    at=tx.booked_at,
                    bank_key=target.bin,
                    number=target.number,
                    movement=kind,
                    credit=tx.direction == "credit",
                    amount=tx.amount_minor,
                    currency=tx.currency,
                ),
            )
            for txn_id, (tx, target, kind) in zip(txn_ids, items, strict=True)
        ],
    )
    return txn_ids
