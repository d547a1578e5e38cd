"""The booking door: `bank_transactions_book` is the one way every bank channel books
(statement files through `imports`, bank-feed webhooks through `feeds`): matching and the
campaign chooser, gifts through `donations_record_many`, the review queue, returns
(`banking.returns`), and account movements (`banking.movements`).

Every outcome is unique on the transaction's identity, so booking a stream again books only
what is missing. Callers that need all-or-nothing resolve and check their transactions
first (as `statement_import` does); a batch is one short database transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from solidarity.apps.banking.accounts import (
    AccountRef,
    AccountResolver,
    Target,
    receiving_accounts_lock,
)
from solidarity.apps.banking.models import (
    AccountMovement,
    ReviewCandidate,
    ReviewItem,
)
from solidarity.apps.banking.movements import movements_book
from solidarity.apps.banking.reconciliation import webhook_bookings_find, webhook_bookings_near
from solidarity.apps.banking.report import BookingRefused, BookReport
from solidarity.apps.banking.returns import pending_reversals_apply, returns_book
from solidarity.apps.banking.selectors import existing_refs
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_gift_problem
from solidarity.apps.donations.models import Channel, Donation
from solidarity.apps.donations.services import (
    GiftInput,
    PreparedGift,
    PreparedGifts,
    donations_book_prepared,
    donations_prepare,
    donations_prepare_offline,
    donations_record_many,
    gift_errors,
)
from solidarity.apps.ledger.services import totals_apply
from solidarity.core.matching import (
    CampaignRule,
    MatchResult,
    campaign_match,
    donor_name_extract,
    reversal_ref_extract,
)
from solidarity.core.statements import (
    BankTransaction,
)
from solidarity.core.tlog.entry import rfc3339
from solidarity.db import db_datetime, rows_insert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AheadBatch:
    """One batch of transactions decided and prepared ahead by a process without the database
    (`batch_prepare_offline`): the credits that are gifts as they stand (matched to one open
    campaign, within its rule, carrying no privacy reference), prepared, in batch order;
    every other transaction by its position in the batch. The batch is known by its size and
    its first and last identities (`fits`)."""

    size: int
    first: str
    last: str
    gifts: PreparedGifts
    rest: tuple[int, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its gifts as plain tuples, by campaign: a named tuple costs a Python
        call per gift to pickle and another to load."""
        by_slug: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for (slug, _, _), p in self.gifts.items():
            by_slug[slug].append(tuple(p))
        return (_ahead_batch_load, (self.size, self.first, self.last, by_slug, self.rest))

    def fits(self, batch: Sequence[BankTransaction]) -> bool:
        """Whether this was made from `batch` (the same spool, the same cut)."""
        return (
            self.size == len(batch)
            and self.first == batch[0].identity
            and self.last == batch[-1].identity
        )


BATCH = 5000
"""Transactions booked per database transaction in pass 2: about a third of a second of
holding the write lock on a quiet 2-core machine. A gift writes into indexes on random keys
(public reference, bank reference, log reference), so a larger batch dirties each index page
once for more gifts (measured, 100,000 rows: commits 2.05 s with 2,000 a batch, 1.16 s with
5,000)."""


_BATCH_RETRIES = 3


def _reversal_of(tx: BankTransaction) -> str | None:
    """The original reference a debit reverses, "" for a flagged reversal naming none,
    None when the debit is not a reversal."""
    ref = tx.reverses_ref or (reversal_ref_extract(tx.memo) if tx.direction == "debit" else None)
    if ref:
        return ref
    return "" if tx.is_reversal else None


_BANK_TRANSFER = str(Channel.BANK_TRANSFER.value)
"""A plain str (not the enum member): log entries of plain values take the fast encoder."""


def _gift(
    tx: BankTransaction, target: Target, campaign: Campaign, donor_name: str | None = None
) -> GiftInput:
    if donor_name is None:
        donor_name = donor_name_extract(tx.memo, tx.counterparty_name) or ""
    return GiftInput(
        amount_minor=tx.amount_minor,
        currency=tx.currency,
        received_at=tx.booked_at,
        channel=_BANK_TRANSFER,
        source=target.source,
        source_ref=tx.identity,
        donor_name=donor_name,
        memo=tx.memo,  # a privacy reference in it decides; else "masked"
        account=target.rows[campaign.pk],
        sender_account=tx.counterparty_account or "",
        bank_ref=tx.bank_ref or "",
    )


def _ahead_batch_load(
    size: int,
    first: str,
    last: str,
    by_slug: dict[str, list[tuple[Any, ...]]],
    rest: tuple[int, ...],
) -> AheadBatch:
    gifts: PreparedGifts = {}
    make = tuple.__new__
    for slug, rows in by_slug.items():
        for row in rows:
            p = make(PreparedGift, row)
            gifts[(slug, p.source, p.source_ref)] = p
    return AheadBatch(size, first, last, gifts, rest)


def bank_transactions_book(
    *,
    transactions: Iterable[BankTransaction],
    source_kind: str,
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    imported: Model | None = None,
    resolver: AccountResolver | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    search_later: bool = False,
    prepared_batches: Iterator[AheadBatch | None] | None = None,
) -> BookReport:
    """Book bank transactions, each exactly once, whatever channel delivered them.

    Contract:
    - Input: normalized `BankTransaction`s whose `identity` follows IDENTITY.md; `source_kind`
      names the channel ("statement", "sepay", ...) for the records it leaves.
    - Each transaction's receiving account is found by `AccountResolver` (`account` names it
      when the channel does not state it; `campaign` forces the campaign of every credit).
      A transaction with no receiving account raises `BookingRefused` before its batch
      writes anything (callers that need all-or-nothing resolve first, as `statement_import`
      does).
    - Identity: `source = "bank:<bin>:<number>"`, `source_ref = identity`. Outcomes:
      a credit matched to one open campaign is a gift (`donations_record_many`, donor name
      from the party field else the memo, sender account private, privacy "masked");
      a credit matching none or several campaigns, or refused by its campaign (closed, or
      its rule for one gift: see below), is a `ReviewItem`; a debit that returns a gift
      (reversal flag, or a memo naming the original reference) reverses it
      (`donation_reverse`, original found by bank reference on the same account) or waits
      as a `PendingReversal` until that gift is booked; any other movement is an
      `AccountMovement` posted against `asset:bank:<bin>:<number>`.
      Each is unique on (source, source_ref), and a transaction already stored under any
      outcome (another format may have read a return as a plain debit, or the reverse)
      counts as a duplicate, never as a second outcome.
    - Transactions are booked in batches of `batch_size`, one database transaction each;
      if the caller dies, whole batches stay booked and calling again books the rest.
      Safe to run concurrently with itself on the same transactions.
    - A batch's gifts to one campaign through one account (and day) are the lines of one
      deposit journal transaction. With `search_later`, their search rows are left to the
      indexer (`search_index_catch_up`), which catches up within seconds of the commit.
    - `prepared_batches` (`imports.pipeline.PreparedAhead`): per batch, the decisions and
      gifts another process made ahead from the same transactions (`AheadBatch`). Used only
      for the batch they were made from, and only when none of its gifts is known yet (no
      gift, review line or movement under its identity, no bank-feed notification on its
      account near its days); otherwise the batch is booked as without them.
    - The campaign's rule for one gift (`campaign_gift_problem`: its smallest and largest
      gift), which the give page, intents and the partner API refuse before any money
      moves, cannot refuse a transfer: the money is in the account already, whatever the
      channel that reports it (statement or bank feed). A credit the rule refuses is held
      for review with the rule's reason, counted in the campaign's review total and in no
      gift total; an accountant books it as a gift all the same (`review_assign`) or as money
      that is not a gift (`review_reject`, a transfer in). Either way it is booked once, and
      a statement and a feed reporting it agree (`statement_confirmations_find`).
    """
    resolver = resolver or AccountResolver(account=account, campaign=campaign)
    report = BookReport()
    batch: list[BankTransaction] = []
    done = 0
    for tx in transactions:
        batch.append(tx)
        if len(batch) >= batch_size:
            ahead = next(prepared_batches, None) if prepared_batches is not None else None
            report.add(
                _batch_book(batch, resolver, source_kind, imported, search_later, ahead=ahead)
            )
            done += len(batch)
            batch = []
            if progress:
                progress(done)
    if batch:
        ahead = next(prepared_batches, None) if prepared_batches is not None else None
        report.add(_batch_book(batch, resolver, source_kind, imported, search_later, ahead=ahead))
        done += len(batch)
        if progress:
            progress(done)
    return report


def _batch_book(
    batch: Sequence[BankTransaction],
    resolver: AccountResolver,
    source_kind: str,
    imported: Model | None,
    search_later: bool = False,
    *,
    ahead: AheadBatch | None = None,
) -> BookReport:
    targets: list[Target] = []
    errors = []
    for tx in batch:
        found = resolver.resolve(tx)
        if isinstance(found, str):
            errors.append(f"line {tx.line}: {found}")
        else:
            targets.append(found)
    if errors:
        raise BookingRefused(errors)
    if ahead is not None and not ahead.fits(batch):
        ahead = None
    prepared = ahead.gifts if ahead is not None else _gifts_prepare_ahead(batch, targets)
    for attempt in range(_BATCH_RETRIES):
        try:
            with transaction.atomic():
                report = None
                if ahead is not None:
                    report = _batch_book_ahead(
                        batch, targets, source_kind, imported, ahead, search_later=search_later
                    )
                if report is None:
                    report = _batch_book_once(
                        batch, targets, source_kind, imported, prepared, search_later=search_later
                    )
                return report
        except IntegrityError:
            # A concurrent booker committed some of these meanwhile, or (with `ahead`) some
            # were booked before: the next attempt, without `ahead`, sees them as duplicates.
            if attempt == _BATCH_RETRIES - 1:
                raise
            ahead = None
    raise AssertionError("unreachable")


def _batch_book_ahead(
    batch: Sequence[BankTransaction],
    targets: Sequence[Target],
    source_kind: str,
    imported: Model | None,
    ahead: AheadBatch,
    *,
    search_later: bool,
) -> BookReport | None:
    """Book one batch from the decisions made ahead (`AheadBatch`), inside
    `transaction.atomic`; None, having written nothing, when one of its gifts may be known
    already (the caller then books the batch as `_batch_book_once` does); IntegrityError
    when one of them is booked as a gift already (the caller rolls the transaction back and
    does the same).

    The decisions are those `_batch_book_once` makes (the same `_credit_decide` over the same
    preloaded accounts and campaigns); what they could not see is the database, checked here
    under the accounts' lock: the gifts' identities as review lines and movements, bank-feed
    notifications on their accounts near their days, and (by the unique constraints their
    inserts meet) as gifts."""
    receiving_accounts_lock((t.bin, t.number) for t in targets)
    pairs = [(p.source, p.source_ref) for p in ahead.gifts.values()]
    if pairs and (
        existing_refs(ReviewItem, pairs)
        or existing_refs(AccountMovement, pairs)
        or _feeds_near(batch, targets)
    ):
        return None
    report = BookReport(rows_read=len(batch))
    by_campaign: dict[str, list[PreparedGift]] = defaultdict(list)
    for (slug, _, _), p in ahead.gifts.items():
        by_campaign[slug].append(p)
    distinct = {id(t): t for t in targets}.values()
    campaigns = {c.slug: c for t in distinct for c in t.campaigns.values()}
    accounts = {a.pk: a for t in distinct for a in t.rows.values()}
    booked: list[tuple[str, str, str, int]] = []
    # Inserted as they are: a gift booked already (a file imported again) breaks a unique
    # constraint, which costs less than looking each one up first; the caller then rolls the
    # batch back and books it again without the decisions made ahead.
    for slug, items in by_campaign.items():
        results = donations_book_prepared(
            campaign=campaigns[slug], items=items, search_later=search_later
        )
        for p, result in zip(items, results, strict=True):
            report.booked += 1
            if p.bank_ref and (account := accounts.get(p.account_id)) is not None:
                booked.append((account.bin, account.number, p.bank_ref, result.donation_id))
    if ahead.rest:
        rest = [batch[i] for i in ahead.rest]
        report.add(
            _batch_book_once(
                rest,
                [targets[i] for i in ahead.rest],
                source_kind,
                imported,
                {},
                search_later=search_later,
            )
        )
        report.rows_read -= len(rest)
    if booked:
        report.reversals += pending_reversals_apply(booked=booked)
    return report


def _feeds_near(batch: Sequence[BankTransaction], targets: Sequence[Target]) -> bool:
    """Whether a bank feed brought in anything on the batch's accounts near its days (then
    `webhook_bookings_find` decides credit by credit)."""
    by_target: dict[int, tuple[Target, list[BankTransaction]]] = {}
    for tx, target in zip(batch, targets, strict=True):
        by_target.setdefault(id(target), (target, []))[1].append(tx)
    return any(webhook_bookings_near(t, txs) for t, txs in by_target.values())


class _CampaignChooser:
    """Which campaign a credit to `target` goes to: the campaign named for the import, else
    the rules of the stated account (`campaign_match`). The rules depend on the stated account
    only, so they are read once per account; with at most one rule the memo cannot change the
    result (the account decides alone, or nothing matches), so it is kept per account too."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.by_slug = {c.slug: c for c in target.campaigns.values()}
        self._forced = (
            MatchResult("matched", (target.forced.slug,), "campaign named")
            if target.forced is not None
            else None
        )
        self._rules: dict[str, list[CampaignRule]] = {}
        self._fixed: dict[str, MatchResult] = {}
        self._open_until = {
            c.slug: c.closes_at for c in self.by_slug.values() if c.status == Campaign.Status.OPEN
        }

    def open_at(self, slug: str, at: datetime) -> bool:
        """Whether `Campaign.state(at)` of the campaign `slug` is open."""
        closes_at = self._open_until.get(slug)
        return closes_at is not None and at < closes_at

    def match(self, tx: BankTransaction) -> MatchResult:
        match = self._forced or self._fixed.get(tx.account)
        if match is None:
            rules = self._rules.get(tx.account)
            if rules is None:
                rules = self._rules[tx.account] = self.target.rules(tx.account)
            match = campaign_match(tx, rules)
            if len(rules) <= 1:
                self._fixed[tx.account] = match
        return match


def _gifts_prepare_ahead(
    batch: Sequence[BankTransaction], targets: Sequence[Target], *, offline: bool = False
) -> PreparedGifts:
    """Before the batch's write transaction: the gifts its credits will most likely be
    (`_credit_decide`, not booked yet), prepared, so the transaction only writes.
    `_batch_book_once` decides again inside the transaction and uses a preparation only for
    the very same gift; a guess that turns out wrong (a duplicate, a campaign closed
    meanwhile) costs its work, nothing else. `offline`: without the database
    (`donations_prepare_offline`: gifts carrying a privacy reference are left out, to be
    booked the general way with the choice the database holds under it)."""
    guesses: dict[str, list[GiftInput]] = defaultdict(list)
    for gift, campaign in _gifts_decided(batch, targets):
        guesses[campaign.slug].append(gift)
    prepare = donations_prepare_offline if offline else donations_prepare
    prepared: PreparedGifts = {}
    for slug, gifts in guesses.items():
        prepared.update(prepare(campaign_slug=slug, gifts=gifts))
    return prepared


def _gifts_decided(
    batch: Sequence[BankTransaction], targets: Sequence[Target]
) -> Iterator[tuple[GiftInput, Campaign]]:
    """(gift, campaign) of each credit of `batch` that `_credit_decide` makes a gift, the
    database aside."""
    choosers: dict[int, _CampaignChooser] = {}
    for tx, target in zip(batch, targets, strict=True):
        if tx.direction != "credit" or tx.is_reversal:
            continue
        chooser = choosers.get(id(target))
        if chooser is None:
            chooser = choosers[id(target)] = _CampaignChooser(target)
        decided = _credit_decide(tx, target, chooser)
        if not isinstance(decided, _Review):
            yield decided


@dataclass
class _Review:
    tx: BankTransaction
    target: Target
    match: MatchResult
    reason: str


def _credit_decide(
    tx: BankTransaction, target: Target, chooser: _CampaignChooser
) -> tuple[GiftInput, Campaign] | _Review:
    """What a credit not known yet becomes: a gift to the campaign the chooser picks, or a
    line held for review (no campaign or several; the campaign not open at its time; its
    rule for one gift refuses the amount). Reads nothing from the database."""
    match = chooser.match(tx)
    if match.kind != "matched":
        return _Review(tx, target, match, match.reason)
    chosen = chooser.by_slug[match.slug]  # type: ignore[index]
    gift = _gift(tx, target, chosen)
    problems = gift_errors(chosen, gift, f"line {tx.line}")
    if not problems and (rule := campaign_gift_problem(chosen, gift.amount_minor)):
        problems.append(str(rule))
    if chosen.status != Campaign.Status.OPEN:
        problems.append(f"campaign {chosen.slug} is {chosen.status}, not open")
    elif not chooser.open_at(chosen.slug, tx.booked_at):
        # Closed by its closing time: a late transfer waits for a person's decision.
        problems.append(f"campaign {chosen.slug} closed at {rfc3339(chosen.closes_at)}")
    if problems:
        return _Review(tx, target, match, "; ".join(problems)[:200])
    return gift, chosen


def _batch_book_once(
    batch: Sequence[BankTransaction],
    targets: Sequence[Target],
    source_kind: str,
    imported: Model | None,
    prepared: PreparedGifts,
    *,
    search_later: bool = False,
) -> BookReport:
    """Book one batch; must run inside `transaction.atomic`. `prepared` holds gifts
    prepared ahead (`_gifts_prepare_ahead`), used only for the very same gifts."""
    receiving_accounts_lock((t.bin, t.number) for t in targets)
    report = BookReport(rows_read=len(batch))
    gifts: dict[int, list[GiftInput]] = defaultdict(list)
    campaigns: dict[int, Campaign] = {}
    reviews: list[_Review] = []
    returns: list[tuple[BankTransaction, Target, str]] = []
    movements: list[tuple[BankTransaction, Target]] = []
    credits_by_target: dict[int, tuple[Target, list[BankTransaction]]] = {}

    for tx, target in zip(batch, targets, strict=True):
        if tx.direction == "credit" and not tx.is_reversal:
            credits_by_target.setdefault(id(target), (target, []))[1].append(tx)
        elif tx.direction == "debit" and (ref := _reversal_of(tx)) is not None:
            returns.append((tx, target, ref))
        else:
            movements.append((tx, target))

    credit_pairs = [(t.source, tx.identity) for t, txs in credits_by_target.values() for tx in txs]
    # A credit another format flagged as a reversal was booked as a movement: same identity.
    in_review = existing_refs(ReviewItem, credit_pairs) | existing_refs(
        AccountMovement, credit_pairs
    )
    for target, txs in credits_by_target.values():
        elsewhere = webhook_bookings_find(target, txs)
        chooser = _CampaignChooser(target)
        source = target.source
        for tx in txs:
            if (source, tx.identity) in in_review or tx.identity in elsewhere:
                report.duplicates += 1
                continue
            decided = _credit_decide(tx, target, chooser)
            if isinstance(decided, _Review):
                reviews.append(decided)
                continue
            gift, chosen = decided
            gifts[chosen.pk].append(gift)
            campaigns[chosen.pk] = chosen

    booked: list[tuple[str, str, str, int]] = []
    for campaign_id, items in gifts.items():
        results = donations_record_many(
            campaign=campaigns[campaign_id],
            gifts=items,
            prepared=prepared,
            deposit=True,
            search_later=search_later,
        )
        for gift, result in zip(items, results, strict=True):
            if result.created:
                report.booked += 1
                if gift.bank_ref and gift.account is not None:
                    booked.append(
                        (gift.account.bin, gift.account.number, gift.bank_ref, result.donation_id)
                    )
            else:
                report.duplicates += 1

    _reviews_add(reviews, source_kind, imported, report)
    returns_book(returns, imported, report)
    movements_book(movements, imported, report)
    if booked:
        report.reversals += pending_reversals_apply(booked=booked)
    return report


def _reviews_add(
    reviews: Sequence[_Review], source_kind: str, imported: Model | None, report: BookReport
) -> None:
    if not reviews:
        return
    pairs = [(r.target.source, r.tx.identity) for r in reviews]
    booked = existing_refs(Donation, pairs)
    fresh: dict[tuple[str, str], _Review] = {}
    for pair, r in zip(pairs, reviews, strict=True):
        if pair in booked or pair in fresh:
            report.duplicates += 1
        else:
            fresh[pair] = r
    if not fresh:
        return
    now = db_datetime(timezone.now())
    ids = rows_insert(
        ReviewItem._meta.db_table,
        (
            "source",
            "source_ref",
            "source_kind",
            "imported_id",
            "bin",
            "number",
            "amount_minor",
            "currency",
            "booked_at",
            "bank_ref",
            "memo",
            "counterparty_name",
            "counterparty_account",
            "match_kind",
            "reason",
            "status",
            "decided_by",
            "decision_reason",
            "created_at",
        ),
        [
            (
                source,
                ref,
                source_kind,
                imported.pk if imported else None,
                r.target.bin,
                r.target.number,
                r.tx.amount_minor,
                r.tx.currency,
                db_datetime(r.tx.booked_at),
                (r.tx.bank_ref or "")[:64],
                r.tx.memo,
                (r.tx.counterparty_name or "")[:200],
                (r.tx.counterparty_account or "")[:64],
                r.match.kind,
                r.reason[:200],
                ReviewItem.Status.OPEN,
                "",
                "",
                now,
            )
            for (source, ref), r in fresh.items()
        ],
        returning=True,
    )
    candidates = []
    per_campaign: dict[int, int] = defaultdict(int)
    for item_id, r in zip(ids, fresh.values(), strict=True):
        slugs = set(r.match.slugs)
        chosen = [c for c in r.target.campaigns.values() if not slugs or c.slug in slugs]
        for c in chosen:
            candidates.append((item_id, c.pk))
            per_campaign[c.pk] += 1
    rows_insert(ReviewCandidate._meta.db_table, ("item_id", "campaign_id"), candidates)
    for campaign_id, n in per_campaign.items():
        totals_apply(campaign=Campaign(pk=campaign_id), review=n)
    report.to_review += len(fresh)


def batch_prepare_offline(
    resolver: AccountResolver, batch: Sequence[BankTransaction]
) -> AheadBatch | None:
    """In a preparing process, without the database: the batch's decisions and its gifts
    prepared (`AheadBatch`); None when a transaction has no receiving account (the writer
    then refuses the batch). The resolver is preloaded."""
    if not batch:
        return None
    targets = [t for tx in batch if not isinstance(t := resolver.resolve(tx), str)]
    if len(targets) != len(batch):
        return None
    gifts = _gifts_prepare_ahead(batch, targets, offline=True)
    pairs = {(p.source, p.source_ref) for p in gifts.values()}
    rest = tuple(
        i
        for i, (tx, target) in enumerate(zip(batch, targets, strict=True))
        if (target.source, tx.identity) not in pairs
    )
    return AheadBatch(len(batch), batch[0].identity, batch[-1].identity, gifts, rest)
