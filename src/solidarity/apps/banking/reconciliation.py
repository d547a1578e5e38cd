"""Reconciliation of statements with bank feeds: the rule that says a statement line and a
feed's notification are one transfer, and the hook through which the booking door asks which
statement credits a feed booked already.

The rule (`same_transfer` within `feed_window`): same account, same amount, booking dates at
most one day apart (Vietnam time), and the same bank reference (case-insensitive), or, when
either side has none, the same normalized memo.

The hook is inverted so that `banking` never imports a channel: the feeds app registers its
finder (`confirmations_finder_register`) in its `ready()`; without feeds installed no finder
is registered and no statement line is reconciled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from solidarity.apps.banking.accounts import Target
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import RecordResult
from solidarity.core.matching import memo_normalize
from solidarity.core.statements import BankTransaction
from solidarity.core.statements.base import VIETNAM_TZ


class ConfirmationsFinder(Protocol):
    """{statement identity: the gift a feed booked for it, or None when the feed's transfer
    is held for review} for the statement credits among `transactions` on `bin_:number`."""

    def __call__(
        self, *, bin_: str, number: str, transactions: Sequence[BankTransaction]
    ) -> dict[str, RecordResult | None]: ...


_FINDERS: list[ConfirmationsFinder] = []


def confirmations_finder_register(finder: ConfirmationsFinder) -> None:
    """Add a channel's finder (once; registering the same one again does nothing)."""
    if finder not in _FINDERS:
        _FINDERS.append(finder)


def webhook_bookings_find(
    target: Target, transactions: Sequence[BankTransaction]
) -> dict[str, RecordResult | None]:
    """Reconciliation hook: the credits among `transactions` already booked by another channel
    (None: held in the review queue by that channel, to be decided there once).

    Contract for the bank-feed engineer: return {identity: the gift already booked} for
    each credit a webhook booked before the statement arrived, so the statement counts it as
    a duplicate instead of booking it again. The natural key is (target account, bank_ref,
    amount_minor, booking date) against `Donation(account__bin, account__number, bank_ref,
    amount_minor, received_at date)` booked under another source; beware that Vietcombank
    repeats document numbers, so that key alone must never merge two distinct transfers
    (compare the feed's own transaction id or count occurrences as IDENTITY.md does). A
    webhook that knows the bank's booking reference can avoid reconciliation altogether by
    building `identity` with `IdentityCounter.by_ref`, the same key a camt statement yields.
    Answered by the finders registered with `confirmations_finder_register` (the feeds app
    registers `feeds.services.statement_confirmations_find` when Django starts); only
    statement lines are reconciled, never a feed's own transactions.
    """
    lines = [tx for tx in transactions if not tx.identity.startswith("feed:")]
    found: dict[str, RecordResult | None] = {}
    if not lines:
        return found
    for finder in _FINDERS:
        found.update(finder(bin_=target.bin, number=target.number, transactions=lines))
    return found


def vn_day(when: datetime) -> date:
    """The calendar day of `when` in Vietnam, where the banks book."""
    return when.astimezone(VIETNAM_TZ).date()


def feed_window(day: date) -> tuple[datetime, datetime]:
    """[start, end): the day before `day` to the day after, Vietnam time."""
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), VIETNAM_TZ)
    return start, start + timedelta(days=3)


def same_transfer(tx: BankTransaction, bank_ref: str, memo: str) -> bool:
    """The other side (its `bank_ref`, its `memo`) is `tx`, amount and window aside: the same
    reference, or when either has none the same normalized memo."""
    if tx.bank_ref and bank_ref:
        return tx.bank_ref.strip().upper() == bank_ref.strip().upper()
    return bool(memo) and memo_normalize(memo) == memo_normalize(tx.memo)


_Amounted = TypeVar("_Amounted", Donation, ReviewItem)


def by_amount(rows: Iterable[_Amounted]) -> dict[tuple[int, str], list[_Amounted]]:
    """Rows grouped by (amount, currency), each group in the rows' order."""
    groups: dict[tuple[int, str], list[_Amounted]] = {}
    for row in rows:
        groups.setdefault((row.amount_minor, row.currency), []).append(row)
    return groups
