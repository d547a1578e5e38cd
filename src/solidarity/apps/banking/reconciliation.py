"""Reconciliation of statements with bank feeds: the rule that says a statement line and a
feed's transfer are one transfer, applied from both sides.

The rule (`same_transfer` within `feed_window`): same account, same amount, booking dates at
most one day apart (Vietnam time), and the same bank reference (case-insensitive), or, when
either side has none, the same normalized memo.

- A statement batch asks which of its credits a feed booked first
  (`webhook_bookings_find`, through `statement_confirmations_find`): those are duplicates.
- A feed's booker asks which of its credits a statement booked or holds for review first
  (`StatementSide`): those are confirmed, never booked again.

`banking` never imports a channel: the feeds app registers its transfers as a `FeedCredits`
(`feed_credits_register`, in its `ready()`); without feeds installed nothing is registered
and no statement line is reconciled.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from solidarity.apps.banking.accounts import Target
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import RecordResult
from solidarity.core.matching import memo_normalize
from solidarity.core.statements import BankTransaction
from solidarity.core.statements.base import VIETNAM_TZ


@dataclass(frozen=True)
class FeedCredit:
    """A credit a bank feed reported and booked (a gift, or a line held for review), as
    reconciliation reads it."""

    key: int  # the feed's own id for it, unique among the credits of one FeedCredits
    amount_minor: int
    currency: str
    occurred_at: datetime | None
    bank_ref: str
    confirmed_by: str  # the statement identity that confirmed it; "" while none has
    open: bool  # booked or held for review, and not confirmed yet
    gift: RecordResult | None  # the gift it booked; None while it is held for review
    memo: Callable[[], str | None]  # its memo, read on demand; None when unreadable


class FeedCredits(Protocol):
    """A channel's bank-feed credits, read and marked by reconciliation. Every method runs
    inside the caller's transaction."""

    def near(
        self,
        *,
        bin_: str,
        number: str,
        lo: datetime,
        hi: datetime,
        identities: Collection[str],
        amounts: Collection[int],
    ) -> list[FeedCredit]:
        """The credits to account `bin_:number` (any bin when the feed names none) that
        occurred in [lo, hi) and booked a gift or a review line: those confirmed by one of
        `identities`, and the open ones of one of `amounts`; by time, then key."""
        ...

    def any_near(self, *, bin_: str, number: str, lo: datetime, hi: datetime) -> bool:
        """Whether `near` could find anything in [lo, hi) for any identities and amounts."""
        ...

    def confirm(self, confirmed: Sequence[tuple[FeedCredit, str]]) -> None:
        """Mark each credit confirmed, now, by the statement identity beside it."""
        ...

    def held(self, *, gift_ids: Collection[int], identities: Collection[str]) -> set[int | str]:
        """Which of these gifts (ids) and statement lines held for review (identities) a
        credit of the feed already holds."""
        ...


_FEEDS: list[FeedCredits] = []


def feed_credits_register(feed: FeedCredits) -> None:
    """Add a channel's bank-feed credits (once; registering the same again does nothing)."""
    if feed not in _FEEDS:
        _FEEDS.append(feed)


def webhook_bookings_find(
    target: Target, transactions: Sequence[BankTransaction]
) -> dict[str, RecordResult | None]:
    """Reconciliation hook of the booking door: the statement credits among `transactions`
    already booked by a bank feed (None: held in the review queue by that feed, to be decided
    there once), so the statement counts them as duplicates instead of booking them again.

    Only statement lines are reconciled, never a feed's own transactions (identity
    `feed:...`). Vietcombank repeats document numbers, so a bank reference alone never merges
    two transfers: amount and day must agree too, and each feed credit confirms one line.
    A webhook that knows the bank's booking reference can avoid reconciliation altogether by
    building `identity` with `IdentityCounter.by_ref`, the same key a camt statement yields.
    """
    lines = [tx for tx in transactions if not tx.identity.startswith("feed:")]
    if not lines:
        return {}
    return statement_confirmations_find(bin_=target.bin, number=target.number, transactions=lines)


def webhook_bookings_near(target: Target, transactions: Sequence[BankTransaction]) -> bool:
    """Whether `webhook_bookings_find(target, transactions)` could find anything: a bank feed
    booked a credit (a gift or a review line) on the account within `feed_window` of the
    days of the statement credits among `transactions`. One indexed query per feed."""
    lines = [
        tx
        for tx in transactions
        if tx.direction == "credit" and not tx.identity.startswith("feed:")
    ]
    if not lines:
        return False
    lo = feed_window(vn_day(min(tx.booked_at for tx in lines)))[0]
    hi = feed_window(vn_day(max(tx.booked_at for tx in lines)))[1]
    return any(
        feed.any_near(bin_=target.bin, number=target.number, lo=lo, hi=hi) for feed in _FEEDS
    )


def statement_confirmations_find(
    *, bin_: str, number: str, transactions: Sequence[BankTransaction]
) -> dict[str, RecordResult | None]:
    """For the statement credits among `transactions` on account `bin_:number`: the
    transfers a bank feed brought in earlier, {statement identity: the gift it booked, or
    None when the feed's transfer went to the review queue (decided there, once)}; each such
    feed credit is marked confirmed by that statement line. Runs inside the statement
    batch's transaction.

    The rule (`same_transfer` within `feed_window`) is applied here, in the statement's
    order: each feed credit confirms one statement line at most, and a statement line
    imported again finds the credit it confirmed before. A few queries per call, not one per
    credit (`FeedCredits.near` fetches the call's whole date window).
    """
    statement_credits = [tx for tx in transactions if tx.direction == "credit"]
    found: dict[str, RecordResult | None] = {}
    for feed in _FEEDS:
        todo = [tx for tx in statement_credits if tx.identity not in found]
        if todo:
            found.update(_confirmations(feed, bin_, number, todo))
    return found


def _confirmations(
    feed: FeedCredits, bin_: str, number: str, statement_credits: Sequence[BankTransaction]
) -> dict[str, RecordResult | None]:
    """`statement_confirmations_find` against one feed."""
    windows = {tx.identity: feed_window(vn_day(tx.booked_at)) for tx in statement_credits}
    near = feed.near(
        bin_=bin_,
        number=number,
        lo=min(lo for lo, _ in windows.values()),
        hi=max(hi for _, hi in windows.values()),
        identities=list(windows),
        amounts={tx.amount_minor for tx in statement_credits},
    )
    if not near:
        return {}
    again: dict[str, FeedCredit] = {}
    open_by_amount: dict[tuple[int, str], list[FeedCredit]] = {}
    for c in near:
        if c.confirmed_by and c.confirmed_by in windows:
            again.setdefault(c.confirmed_by, c)
        if c.open:
            open_by_amount.setdefault((c.amount_minor, c.currency), []).append(c)
    found: dict[str, RecordResult | None] = {}
    used: set[int] = set()
    memos: dict[int, str | None] = {}
    confirmed: list[tuple[FeedCredit, str]] = []
    for tx in statement_credits:
        previous = again.get(tx.identity)
        if previous is not None:
            found[tx.identity] = previous.gift
            continue
        tx_lo, tx_hi = windows[tx.identity]
        for c in open_by_amount.get((tx.amount_minor, tx.currency), ()):
            if c.key in used or c.occurred_at is None or not tx_lo <= c.occurred_at < tx_hi:
                continue
            memo = ""
            if not (tx.bank_ref and c.bank_ref):
                if c.key not in memos:
                    memos[c.key] = c.memo()
                if (known := memos[c.key]) is None:
                    continue
                memo = known
            if not same_transfer(tx, c.bank_ref, memo):
                continue
            used.add(c.key)
            confirmed.append((c, tx.identity))
            found[tx.identity] = c.gift
            break
    if confirmed:
        feed.confirm(confirmed)
    return found


@dataclass(frozen=True)
class StatementMatch:
    """What a statement already holds for a feed's credit: its gift, or (`confirmed_by`,
    with the gift an accountant booked from it, if any) its line held for review."""

    donation_id: int | None
    confirmed_by: str = ""


@dataclass
class StatementSide:
    """What a statement of one account already holds that a batch of feed credits may be:
    its gifts (not booked from a feed) and its lines held for review, on the credits' days
    (one day either side, Vietnam time) and amounts, fetched in four queries for the batch.

    `confirmation(tx)` applies the rule of `statement_confirmations_find` from the other
    side: the first gift, else the first review line, in booking order, that is this transfer
    and that no feed credit holds yet (earlier ones, or earlier credits of this batch). Must
    be used inside the transaction that books the rest, under the account's lock.
    """

    gifts: dict[tuple[int, str], list[Donation]]
    items: dict[tuple[int, str], list[ReviewItem]]
    taken: set[int | str]  # gift ids and review lines some feed credit already holds

    @classmethod
    def fetch(
        cls, bin_: str, number: str, txs: Sequence[BankTransaction], feed: FeedCredits
    ) -> StatementSide:
        lo = feed_window(vn_day(min(tx.booked_at for tx in txs)))[0]
        hi = feed_window(vn_day(max(tx.booked_at for tx in txs)))[1]
        source = f"bank:{bin_}:{number}"
        amounts = {tx.amount_minor for tx in txs}
        gifts = list(
            Donation.objects.filter(
                source=source, amount_minor__in=amounts, received_at__gte=lo, received_at__lt=hi
            )
            .exclude(source_ref__startswith="feed:")
            .select_related("private")
            .order_by("received_at", "id")
        )
        items = list(
            ReviewItem.objects.filter(
                source=source,
                source_kind="statement",
                amount_minor__in=amounts,
                booked_at__gte=lo,
                booked_at__lt=hi,
            ).order_by("booked_at", "id")
        )
        taken: set[int | str] = set()
        if gifts or items:
            taken = feed.held(
                gift_ids=[g.pk for g in gifts], identities=[i.source_ref[:240] for i in items]
            )
        return cls(by_amount(gifts), by_amount(items), taken)

    def confirmation(self, tx: BankTransaction) -> StatementMatch | None:
        lo, hi = feed_window(vn_day(tx.booked_at))
        for gift in self.gifts.get((tx.amount_minor, tx.currency), ()):
            if gift.pk in self.taken or not lo <= gift.received_at < hi:
                continue
            memo = ""
            if not (tx.bank_ref and gift.bank_ref):
                memo = getattr(getattr(gift, "private", None), "memo", "")
            if same_transfer(tx, gift.bank_ref, memo):
                self.taken.add(gift.pk)
                return StatementMatch(gift.pk)
        for item in self.items.get((tx.amount_minor, tx.currency), ()):
            ref = item.source_ref[:240]
            if ref in self.taken or not lo <= item.booked_at < hi:
                continue
            if same_transfer(tx, item.bank_ref, item.memo):
                self.taken.add(ref)
                return StatementMatch(item.donation_id, confirmed_by=item.source_ref)
        return None


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
