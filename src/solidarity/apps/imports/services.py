"""Bank transactions in: one booking service for every bank channel, and statement imports.

`bank_transactions_book` is the door every bank channel uses (statement files here; bank-feed
webhooks such as SePay or Casso next): matching, gifts through `donations_record_many`, the
review queue, reversals through `donation_reverse`, and account movements through
`transactions_post`. `statement_import` parses a file, refuses it whole or books it through
that door.

All-or-nothing per file, and why two passes. The parser reports row errors only after the
last row, and booked rows can never be deleted (the ledger and donation tables refuse DELETE),
so the only way to undo a booking is a rollback. Booking a whole file in one transaction
would hold SQLite's single write lock, and on PostgreSQL the campaign's totals row lock, for
the whole import (minutes for a national statement), stalling every other channel. So:
pass 1 streams the file through the parser, resolves every transaction's receiving account
and spools the parsed rows to an anonymous temporary file; a file with any error is refused
there, before anything is booked. Pass 2 books the spooled rows in batches, each batch one
short transaction. A run killed during pass 2 leaves whole batches booked; running it again
books the rest, because every outcome is unique on the transaction's identity. During pass 2
a forked process prepares the next batch's gifts while this one writes (`pipeline`); it
writes nothing, so none of the above depends on it.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import logging
import multiprocessing
import pickle
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from solidarity.apps.banking.accounts import (
    AccountRef,
    AccountResolver,
    Target,
    receiving_accounts_lock,
)
from solidarity.apps.banking.models import (
    AccountMovement,
    PendingReversal,
    ReviewCandidate,
    ReviewItem,
)
from solidarity.apps.banking.report import BookingRefused, BookReport
from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.apps.donations.models import Channel, Donation, Reversal
from solidarity.apps.donations.services import (
    GiftInput,
    PreparedGifts,
    RecordResult,
    donation_reverse,
    donations_prepare,
    donations_prepare_offline,
    donations_record_many,
    gift_errors,
    prepared_from_parts,
)
from solidarity.apps.imports.models import Import
from solidarity.apps.imports.pipeline import AheadParts, prepared_ahead
from solidarity.apps.ledger.services import TransactionInput, totals_apply, transactions_post
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core import ledger as core_ledger
from solidarity.core.errors import Refused
from solidarity.core.matching import (
    CampaignRule,
    MatchResult,
    campaign_match,
    donor_name_extract,
    memo_normalize,
    reversal_ref_extract,
)
from solidarity.core.money import Money
from solidarity.core.statements import (
    ANY_DATE,
    BankTransaction,
    DateWindow,
    Profile,
    StatementError,
    StatementRejected,
    statement_detect,
    statement_read,
)
from solidarity.core.statements.base import VIETNAM_TZ
from solidarity.core.tlog.entry import rfc3339
from solidarity.db import db_datetime, rows_insert

logger = logging.getLogger(__name__)

BATCH = 2000
"""Transactions booked per database transaction in pass 2."""

MAX_REPORTED_ERRORS = 200
"""Errors kept in an Import row and a report; the count of rejected rows is always exact."""

_FEE_WORDS = ("phi", "fee", "charge", "commission", "bankcharge", "thuphi", "thuephi")
_FEE_PHRASES = ("phidichvu", "phiquanly", "phichuyen", "servicefee", "bankcharge", "kosten")
_BATCH_RETRIES = 3

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase "read" counts bytes, "book" counts transactions."""


# --- the file's report -------------------------------------------------------------------


@dataclass
class FileReport:
    """One file's import: the counts, and for a refused file every error with its place."""

    file: str
    sha256: str = ""
    format: str = ""
    status: str = Import.Status.RUNNING
    import_id: int | None = None
    dry_run: bool = False
    counts: BookReport = field(default_factory=BookReport)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """What the reader corrected in rows it booked (file, line, field, message)."""

    @property
    def refused(self) -> bool:
        return self.status == Import.Status.REFUSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "status": self.status,
            "import_id": self.import_id,
            "dry_run": self.dry_run,
            **asdict(self.counts),
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _error_dict(error: StatementError) -> dict[str, Any]:
    return {
        "file": error.file,
        "line": error.line,
        "field": error.field,
        "message": error.message,
    }


# --- the booking door ----------------------------------------------------------------------


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
    Implemented by `solidarity.apps.feeds` (rule and bookkeeping in
    `feeds.services.statement_confirmations_find`); only statement lines are reconciled,
    never a feed's own transactions.
    """
    from django.apps import apps  # noqa: PLC0415 - feeds imports this module; resolved late

    lines = [tx for tx in transactions if not tx.identity.startswith("feed:")]
    if not lines or not apps.is_installed("solidarity.apps.feeds"):
        return {}
    from solidarity.apps.feeds.services import (  # noqa: PLC0415 - same
        statement_confirmations_find,
    )

    return statement_confirmations_find(bin_=target.bin, number=target.number, transactions=lines)


def _is_fee(memo: str) -> bool:
    """A bank charge: the memo starts with a fee word (`Phi dich vu SMS`, `Fee`, ...)."""
    norm = memo_normalize(memo)
    return norm.startswith(_FEE_WORDS) or any(w in norm for w in _FEE_PHRASES)


def _reversal_of(tx: BankTransaction) -> str | None:
    """The original reference a debit reverses, "" for a flagged reversal naming none,
    None when the debit is not a reversal."""
    ref = tx.reverses_ref or (reversal_ref_extract(tx.memo) if tx.direction == "debit" else None)
    if ref:
        return ref
    return "" if tx.is_reversal else None


def _gift(
    tx: BankTransaction, target: Target, campaign: Campaign, donor_name: str | None = None
) -> GiftInput:
    if donor_name is None:
        donor_name = donor_name_extract(tx.memo, tx.counterparty_name) or ""
    return GiftInput(
        amount_minor=tx.amount_minor,
        currency=tx.currency,
        received_at=tx.booked_at,
        channel=Channel.BANK_TRANSFER,
        source=target.source,
        source_ref=tx.identity,
        donor_name=donor_name,
        memo=tx.memo,  # a privacy reference in it decides; else "masked"
        account=target.rows[campaign.pk],
        sender_account=tx.counterparty_account or "",
        bank_ref=tx.bank_ref or "",
    )


def _existing_refs(model: Any, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (source, source_ref) pairs among `pairs` that `model` already holds."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, ref in pairs:
        by_source[source].append(ref)
    found: set[tuple[str, str]] = set()
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        for source, refs in by_source.items():
            for start in range(0, len(refs), 900):
                chunk = refs[start : start + 900]
                # Plain SQL: the ORM spent more building these queries than running them.
                cur.execute(
                    f"SELECT source_ref FROM {table} WHERE source = %s "  # noqa: S608 (model meta)
                    f"AND source_ref IN ({', '.join(['%s'] * len(chunk))})",
                    [source, *chunk],
                )
                found.update((source, r) for (r,) in cur.fetchall())
    return found


def bank_transactions_book(
    *,
    transactions: Iterable[BankTransaction],
    source_kind: str,
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    imported: Import | None = None,
    resolver: AccountResolver | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    search_later: bool = False,
    prepared_batches: Iterator[AheadParts | None] | None = None,
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
      a credit matching none or several campaigns, or refused by its campaign, is a
      `ReviewItem`; a debit that returns a gift (reversal flag, or a memo naming the
      original reference) reverses it (`donation_reverse`, original found by bank reference
      on the same account) or waits as a `PendingReversal` until that gift is booked; any
      other movement is an `AccountMovement` posted against `asset:bank:<bin>:<number>`.
      Each is unique on (source, source_ref), and a transaction already stored under any
      outcome (another format may have read a return as a plain debit, or the reverse)
      counts as a duplicate, never as a second outcome.
    - Transactions are booked in batches of `batch_size`, one database transaction each;
      if the caller dies, whole batches stay booked and calling again books the rest.
      Safe to run concurrently with itself on the same transactions.
    - A batch's gifts to one campaign through one account (and day) are the lines of one
      deposit journal transaction. With `search_later`, their search rows are left to the
      indexer (`search_index_catch_up`), which catches up within seconds of the commit.
    - `prepared_batches` (`pipeline.prepared_ahead`): per batch, gifts prepared ahead by
      another process, used only where they are the very same gifts.
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
    imported: Import | None,
    search_later: bool = False,
    *,
    ahead: AheadParts | None = None,
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
    prepared = {} if ahead is not None else _gifts_prepare_ahead(batch, targets)
    for attempt in range(_BATCH_RETRIES):
        try:
            with transaction.atomic():
                return _batch_book_once(
                    batch,
                    targets,
                    source_kind,
                    imported,
                    prepared,
                    search_later=search_later,
                    ahead=ahead,
                )
        except IntegrityError:
            # A concurrent booker committed some of these meanwhile: the next attempt sees
            # them as duplicates.
            if attempt == _BATCH_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


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
    """Before the batch's write transaction: the gifts its credits will most likely be (the
    campaign `_CampaignChooser` picks, open, not booked yet), prepared, so the transaction
    only writes. `_batch_book_once` decides again inside the transaction, with the same
    chooser, and uses a preparation only for the very same gift; a guess that turns out wrong
    (a duplicate, a campaign closed meanwhile) costs its work, nothing else. `offline`:
    without the database (`donations_prepare_offline`), in the preparing process."""
    guesses: dict[str, list[GiftInput]] = defaultdict(list)
    choosers: dict[int, _CampaignChooser] = {}
    for tx, target in zip(batch, targets, strict=True):
        if tx.direction != "credit" or tx.is_reversal:
            continue
        chooser = choosers.get(id(target))
        if chooser is None:
            chooser = choosers[id(target)] = _CampaignChooser(target)
        match = chooser.match(tx)
        if match.kind != "matched":
            continue
        chosen = chooser.by_slug[match.slug]  # type: ignore[index]
        if chosen.state(tx.booked_at) == Campaign.Status.OPEN:
            guesses[chosen.slug].append(_gift(tx, target, chosen))
    prepared: PreparedGifts = {}
    prepare = donations_prepare_offline if offline else donations_prepare
    for slug, gifts in guesses.items():
        prepared.update(prepare(campaign_slug=slug, gifts=gifts))
    return prepared


@dataclass
class _Review:
    tx: BankTransaction
    target: Target
    match: MatchResult
    reason: str


def _batch_book_once(
    batch: Sequence[BankTransaction],
    targets: Sequence[Target],
    source_kind: str,
    imported: Import | None,
    prepared: PreparedGifts,
    *,
    search_later: bool = False,
    ahead: AheadParts | None = None,
) -> BookReport:
    """Book one batch; must run inside `transaction.atomic`. `prepared` holds the gifts
    prepared ahead in this process; `ahead` those another process prepared (added to
    `prepared` as their gifts are chosen)."""
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
    in_review = _existing_refs(ReviewItem, credit_pairs) | _existing_refs(
        AccountMovement, credit_pairs
    )
    for target, txs in credits_by_target.values():
        elsewhere = webhook_bookings_find(target, txs)
        chooser = _CampaignChooser(target)
        for tx in txs:
            if (target.source, tx.identity) in in_review or tx.identity in elsewhere:
                report.duplicates += 1
                continue
            match = chooser.match(tx)
            if match.kind != "matched":
                reviews.append(_Review(tx, target, match, match.reason))
                continue
            chosen = chooser.by_slug[match.slug]  # type: ignore[index]
            key = (chosen.slug, target.source, tx.identity)
            done = prepared.get(key)
            if done is None and ahead is not None and (parts := ahead.get(key)) is not None:
                done = prepared[key] = prepared_from_parts(
                    _gift(tx, target, chosen, donor_name=parts[0]), parts
                )
            gift = done.gift if done is not None else _gift(tx, target, chosen)
            problems = gift_errors(chosen, gift, f"line {tx.line}")
            if chosen.status != Campaign.Status.OPEN:
                problems.append(f"campaign {chosen.slug} is {chosen.status}, not open")
            elif chosen.state(tx.booked_at) == Campaign.Status.CLOSED:
                # Closed by its closing time: a late transfer waits for a person's decision.
                problems.append(f"campaign {chosen.slug} closed at {rfc3339(chosen.closes_at)}")
            if problems:
                reviews.append(_Review(tx, target, match, "; ".join(problems)[:200]))
                continue
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
    _returns_book(returns, imported, report)
    _movements_book(movements, imported, report)
    if booked:
        report.reversals += pending_reversals_apply(booked=booked)
    return report


def _reviews_add(
    reviews: Sequence[_Review], source_kind: str, imported: Import | None, report: BookReport
) -> None:
    if not reviews:
        return
    pairs = [(r.target.source, r.tx.identity) for r in reviews]
    booked = _existing_refs(Donation, pairs)
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


def _original_find(target: Target, ref: str, tx: BankTransaction) -> Donation | None:
    """The gift a returned transfer sends back: same account, that bank reference, the same
    amount, not sent back yet; the earliest when several fit. None when no such gift is
    booked yet: the return then waits (PendingReversal) until one is, whatever the order in
    which the statements arrive."""
    if not ref:
        if not tx.bank_ref:
            return None
        ref = tx.bank_ref
    return (
        Donation.objects.filter(
            account__bin=target.bin,
            account__number=target.number,
            bank_ref__in={ref, ref.upper()},
            amount_minor=tx.amount_minor,
            currency=tx.currency,
            reversal__isnull=True,
        )
        .select_related("campaign", "account")
        .order_by("id")
        .first()
    )


def _returns_book(
    returns: Sequence[tuple[BankTransaction, Target, str]],
    imported: Import | None,
    report: BookReport,
) -> None:
    if not returns:
        return
    pairs = [(t.source, tx.identity) for tx, t, _ in returns]
    # A format that did not recognise the return booked it as a movement: same identity.
    done = (
        _existing_refs(Reversal, pairs)
        | _existing_refs(PendingReversal, pairs)
        | _existing_refs(AccountMovement, pairs)
    )
    for (tx, target, ref), pair in zip(returns, pairs, strict=True):
        if pair in done:
            report.duplicates += 1
            continue
        done.add(pair)
        original = _original_find(target, ref, tx)
        if original is not None:
            _, created = donation_reverse(
                donation=original,
                source=target.source,
                source_ref=tx.identity,
                reversed_at=tx.booked_at,
                reason="transfer returned by the bank",
            )
            if created:
                report.reversals += 1
            else:
                report.duplicates += 1
            continue
        PendingReversal.objects.create(
            source=target.source,
            source_ref=tx.identity,
            imported=imported,
            bin=target.bin,
            number=target.number,
            reverses_ref=(ref or tx.bank_ref or "").upper()[:64],
            amount_minor=tx.amount_minor,
            currency=tx.currency,
            booked_at=tx.booked_at,
            memo=tx.memo,
        )
        report.reversals_pending += 1


def pending_reversals_apply(*, booked: Sequence[tuple[str, str, str, int]]) -> int:
    """Apply the pending returned transfers that name newly booked gifts, given as
    (bin, number, bank_ref, donation id); return how many were applied.

    Must run in the transaction that booked the gifts.
    """
    accounts = {(b, n) for b, n, _, _ in booked}
    waiting: dict[tuple[str, str, str], list[PendingReversal]] = defaultdict(list)
    for bin_, number in accounts:
        for pending in PendingReversal.objects.filter(
            bin=bin_, number=number, resolved_at__isnull=True
        ).order_by("id"):
            waiting[(bin_, number, pending.reverses_ref)].append(pending)
    if not waiting:
        return 0
    applied = 0
    for bin_, number, bank_ref, donation_id in booked:
        for pending in waiting.get((bin_, number, bank_ref.upper()), []):
            if pending.resolved_at is not None:
                continue
            gift = Donation.objects.select_related("campaign", "account").get(pk=donation_id)
            if gift.amount_minor != pending.amount_minor or gift.currency != pending.currency:
                continue
            resolved, created = _pending_apply(pending, gift)
            if resolved:
                pending.resolved_at = timezone.now()
            applied += int(created)
            break
    return applied


def _pending_apply(pending: PendingReversal, gift: Donation) -> tuple[bool, bool]:
    """Reverse `gift` for a waiting return; (resolved, created). Not resolved when another
    return sent this gift back first: the pending one keeps waiting for its own gift."""
    reversal, created = donation_reverse(
        donation=gift,
        source=pending.source,
        source_ref=pending.source_ref,
        reversed_at=pending.booked_at,
        reason="transfer returned by the bank",
    )
    if not created and reversal.source_ref != pending.source_ref:
        return False, False
    PendingReversal.objects.filter(pk=pending.pk).update(resolved_at=timezone.now(), donation=gift)
    return True, created


def pending_reversals_sweep(*, targets: Iterable[Target]) -> int:
    """Apply every open pending reversal on these accounts whose gift is booked by now (a
    concurrent booker may have committed the gift after the reversal looked for it)."""
    applied = 0
    for target in targets:
        for pending in PendingReversal.objects.filter(
            bin=target.bin, number=target.number, resolved_at__isnull=True
        ).order_by("id"):
            with transaction.atomic():
                probe = BankTransaction(
                    account=target.number,
                    bin=target.bin,
                    currency=pending.currency,
                    amount_minor=pending.amount_minor,
                    direction="debit",
                    booked_at=pending.booked_at,
                    value_date=None,
                    bank_ref=None,
                    memo="",
                    counterparty_name=None,
                    counterparty_account=None,
                    is_reversal=True,
                    reverses_ref=pending.reverses_ref,
                    source_format="pending",
                    line=0,
                    identity=pending.source_ref,
                )
                gift = _original_find(target, pending.reverses_ref, probe)
                if gift is None:
                    continue
                applied += int(_pending_apply(pending, gift)[1])
    return applied


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
        _movements_post(
            target.movement_campaign,
            [(tx, target, AccountMovement.Kind.TRANSFER_OUT)],
            pending.imported,
        )
    pending.refresh_from_db()
    return AccountMovement.objects.get(source=pending.source, source_ref=pending.source_ref)


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


def _movements_book(
    movements: Sequence[tuple[BankTransaction, Target]],
    imported: Import | None,
    report: BookReport,
) -> None:
    """Post non-gift movements once each, with a public log entry (amount, kind, account)."""
    if not movements:
        return
    pairs = [(t.source, tx.identity) for tx, t in movements]
    # Another format may have recognised this transaction as a gift or a return.
    done: set[tuple[str, str]] = set()
    for model in (AccountMovement, Reversal, PendingReversal, Donation, ReviewItem):
        done |= _existing_refs(model, pairs)
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
        report.not_gifts += len(_movements_post(campaigns[campaign_id], items, imported))


def _movements_post(
    campaign: Campaign,
    items: Sequence[tuple[BankTransaction, Target, str]],
    imported: Import | None,
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
                {
                    "kind": "account_movement",
                    "campaign": campaign.slug,
                    "at": rfc3339(tx.booked_at),
                    "account": f"{target.bin}:{target.number}",
                    "movement": kind,
                    "direction": "in" if tx.direction == "credit" else "out",
                    "amount": tx.amount_minor,
                    "currency": tx.currency,
                },
            )
            for txn_id, (tx, target, kind) in zip(txn_ids, items, strict=True)
        ],
    )
    return txn_ids


# --- the review queue ----------------------------------------------------------------------


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
    recording who decided and when; the gift keeps the transaction's identity."""
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
        # The log append inside _movements_post is the last write that could wait (see
        # log_entries_append); the item row set after it is already locked by this transaction.
        _item_close(item, status=ReviewItem.Status.REJECTED, by=name, reason=reason.strip()[:200])
        (txn_id,) = _movements_post(
            target.movement_campaign,
            [(tx, target, AccountMovement.Kind.TRANSFER_IN)],
            item.imported,
        )
        ReviewItem.objects.filter(pk=item.pk).update(movement_txn_id=txn_id)
    item.refresh_from_db()
    return item


# --- statement files -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_TX_FIELDS = tuple(BankTransaction.__dataclass_fields__)


def _spool_write(spool: IO[bytes], chunk: Sequence[BankTransaction]) -> None:
    rows = [tuple(getattr(tx, f) for f in _TX_FIELDS) for tx in chunk]
    pickle.dump(rows, spool, protocol=pickle.HIGHEST_PROTOCOL)


def _spool_read(spool: IO[bytes]) -> Iterator[BankTransaction]:
    spool.seek(0)
    while True:
        try:
            rows = pickle.load(spool)  # noqa: S301 - our own anonymous temp file
        except EOFError:
            return
        for row in rows:
            yield BankTransaction(*row)


def _parse_to_spool(
    path: Path,
    *,
    name: str,
    profile: Profile | None,
    resolver: AccountResolver,
    spool: IO[bytes],
    progress: Progress | None,
    window: DateWindow,
) -> tuple[int, list[StatementError], list[StatementError]]:
    """Pass 1: parse, resolve accounts, spool. (rows, errors, warnings); errors empty when
    accepted.

    StatementRejected propagates for a file the parser refuses.
    """
    size = path.stat().st_size
    rows = 0
    errors: list[StatementError] = []
    warnings: list[StatementError] = []
    unresolved = 0
    chunk: list[BankTransaction] = []
    with open(path, "rb") as stream:
        for tx in statement_read(stream, name=name, profile=profile, window=window):
            rows += 1
            if tx.warnings and len(warnings) < MAX_REPORTED_ERRORS:
                warnings.extend(tx.warnings)
            target = resolver.resolve(tx)
            if isinstance(target, str):
                unresolved += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(StatementError(name, tx.line, "account", target))
                continue
            chunk.append(tx)
            if len(chunk) >= BATCH * 5:
                _spool_write(spool, chunk)
                chunk = []
                if progress and not stream.closed:
                    progress("read", stream.tell(), size)
        if chunk:
            _spool_write(spool, chunk)
        spool.flush()  # a forked pass 1 exits without flushing its buffers
        if progress:
            progress("read", size, size)
    if unresolved > len(errors):
        errors.append(StatementError(name, 0, "account", f"{unresolved} rows without an account"))
    return rows, errors, warnings


def import_window(*, resolver: AccountResolver) -> DateWindow:
    """The dates a statement for these receiving accounts may hold: from the earliest
    opening of their campaigns less `SOLIDARITY_IMPORT_DAYS_BEFORE_OPENING` days (history
    of a shared account) to tomorrow in Vietnam (a bank day runs ahead of UTC)."""
    margin = timedelta(days=int(getattr(settings, "SOLIDARITY_IMPORT_DAYS_BEFORE_OPENING", 366)))
    openings = [a.campaign.opens_at for a in resolver.preload_accounts()]
    if resolver.campaign is not None:
        openings.append(resolver.campaign.opens_at)
    not_before = ANY_DATE.not_before
    if openings:
        not_before = max(not_before, (min(openings) - margin).astimezone(VIETNAM_TZ).date())
    tomorrow = timezone.now().astimezone(VIETNAM_TZ).date() + timedelta(days=1)
    return DateWindow(not_before, min(tomorrow, ANY_DATE.not_after))


def _pass1(
    path: Path,
    *,
    name: str,
    profile: Profile | None,
    account: AccountRef | None,
    resolver: AccountResolver,
    spool: IO[bytes],
    progress: Progress | None,
    window: DateWindow,
) -> tuple[int, list[StatementError], list[StatementError]] | StatementRejected:
    """Pass 1 with the `--account` fallback: a CSV/XLSX that states no account is read again
    as the named account's. Uses no database connection (the resolver is preloaded)."""
    try:
        try:
            return _parse_to_spool(
                path,
                name=name,
                profile=profile,
                resolver=resolver,
                spool=spool,
                progress=progress,
                window=window,
            )
        except StatementRejected as exc:
            if account is None or not _needs_account(exc):
                raise
            spool.seek(0)
            spool.truncate()
            return _parse_to_spool(
                path,
                name=name,
                profile=replace(profile or Profile(name="--account"), account=account.number),
                resolver=resolver,
                spool=spool,
                progress=progress,
                window=window,
            )
    except StatementRejected as exc:
        return exc


def _in_child(work: Callable[[], Any]) -> Any:
    """Run `work` in a forked child process and return its result.

    Used for pass 1 so the parser's memory (its identity counters grow with the rows of a
    day) is returned to the system when the child exits instead of staying in the booking
    process. The child inherits open files (the spool) and uses no database connection.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", work()))
        except BaseException as exc:
            send.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            send.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        status, value = "error", "the parsing process died"
    process.join()
    if status != "ok":
        raise RuntimeError(f"reading the statement failed: {value}")
    return value


def _needs_account(exc: StatementRejected) -> bool:
    return any(e.field == "account" and "no account number" in e.message for e in exc.errors)


def statement_import(
    *,
    path: Path,
    name: str | None = None,
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    profile: Profile | None = None,
    dry_run: bool = False,
    by: User | None = None,
    progress: Progress | None = None,
    isolate_parser: bool = False,
    job: Import | None = None,
) -> FileReport:
    """Import one statement file: refused whole (nothing booked) or booked exactly once.

    The file is recorded in `Import` (name, sha256, format, who, when, counts, status).
    `account` names the receiving account when the file does not state it (many CSV/XLSX
    exports) and restricts the file to it; `campaign` forces every credit to that campaign.
    With `dry_run`, the file is parsed and checked and nothing is written, no Import row
    either; the report then counts the rows read only. `isolate_parser` runs pass 1 in a
    forked child process (the CLI does; keeps the booking process small for huge files).
    `job` is the row of an uploaded file (`import_job_create`, claimed as running): it is
    filled in instead of a new row, for a dry run too. Never raises for the file's content;
    a run that breaks off ends failed with the reason.
    """
    name = name or path.name
    report = FileReport(file=name, dry_run=dry_run)
    report.sha256 = file_sha256(path)
    with open(path, "rb") as f:
        report.format = statement_detect(f.read(8192))
    who = by.get_username() if by is not None else f"cli:{_login()}"
    record = job
    if job is not None:
        report.import_id = job.pk
    elif not dry_run:
        record = Import.objects.create(
            file_name=name[:255],
            sha256=report.sha256,
            size=path.stat().st_size,
            format=report.format,
            account=str(account) if account else "",
            campaign=campaign,
            by=who,
            user=by,
        )
        report.import_id = record.pk
    resolver = AccountResolver(account=account, campaign=campaign)
    resolver.preload()
    with tempfile.TemporaryFile(prefix="solidarity-import-") as spool:
        pass1 = functools.partial(
            _pass1,
            path,
            name=name,
            profile=profile,
            account=account,
            resolver=resolver,
            spool=spool,
            progress=progress,
            window=import_window(resolver=resolver),
        )
        try:
            outcome = _in_child(pass1) if isolate_parser else pass1()
        except Exception as exc:  # a reader bug: the file is not booked, the reason kept
            logger.exception("reading %s failed", name)
            return _fail(report, record, f"the file could not be read: {exc}")
        if isinstance(outcome, StatementRejected):
            return _refuse(report, record, outcome.errors, rows=0)
        rows, errors, warnings = outcome
        if errors:
            return _refuse(report, record, errors, rows=rows)
        report.warnings = [_error_dict(w) | {"level": "warning"} for w in warnings]
        report.counts.rows_read = rows
        if dry_run:
            report.status = Import.Status.DONE
            if record is not None:
                _record_finish(record, report)
            return report
        assert record is not None
        batches = 0

        def after_batch(done: int) -> None:
            nonlocal batches
            batches += 1
            if batches % 5 == 0:
                _sqlite_statements_release()
            if progress:
                progress("book", done, rows)

        spool.flush()
        ahead = prepared_ahead(
            spool,
            read=_spool_read,
            prepare=functools.partial(_batch_prepare_offline, resolver),
            batch_size=BATCH,
        )
        try:
            with contextlib.closing(ahead):
                counts = bank_transactions_book(
                    transactions=_spool_read(spool),
                    source_kind="statement",
                    resolver=resolver,
                    imported=record,
                    progress=after_batch,
                    search_later=True,
                    prepared_batches=ahead,
                )
            if counts.rows_read != rows:
                raise RuntimeError(f"spooled {rows} rows but booked {counts.rows_read}; run again")
            swept = pending_reversals_sweep(targets=resolver.targets())
            counts.reversals += swept
            counts.reversals_pending -= min(swept, counts.reversals_pending)
        except Exception as exc:
            logger.exception("booking %s failed", name)
            return _fail(report, record, f"booking stopped: {exc}; run the import again")
    report.counts = counts
    report.status = Import.Status.DONE
    _record_finish(record, report)
    return report


def _batch_prepare_offline(
    resolver: AccountResolver, batch: Sequence[BankTransaction]
) -> PreparedGifts:
    """In the preparing process: `_gifts_prepare_ahead` without the database (the resolver
    is preloaded, every spooled transaction resolves)."""
    targets = [t for tx in batch if not isinstance(t := resolver.resolve(tx), str)]
    if len(targets) != len(batch):
        return {}
    return _gifts_prepare_ahead(batch, targets, offline=True)


def _sqlite_statements_release() -> None:
    """Reconnect to SQLite between batches: the sqlite3 module caches up to 128 prepared
    statements per connection, and the booking path's multi-row INSERTs of up to 30,000
    parameters vary in size, so the cache alone grows to ~200 MB over a long import."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        connection.close()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _refuse(
    report: FileReport, record: Import | None, errors: Sequence[StatementError], *, rows: int
) -> FileReport:
    report.status = Import.Status.REFUSED
    report.counts = BookReport(rows_read=rows, rejected=max(rows, 1))
    lines = {e.line for e in errors if e.line}
    if rows:
        report.counts.rejected = len(lines) or rows
    report.errors = [_error_dict(e) for e in errors[:MAX_REPORTED_ERRORS]]
    if record is not None:
        _record_finish(record, report)
    return report


def _fail(report: FileReport, record: Import | None, reason: str) -> FileReport:
    """End an import that broke off for a reason other than the file's content: the record
    says failed with the reason (whole batches booked before it stay booked; a new run
    books the rest exactly once)."""
    report.status = Import.Status.FAILED
    report.errors = [{"file": report.file, "line": 0, "field": "import", "message": reason[:500]}]
    if record is not None:
        Import.objects.filter(pk=record.pk).update(
            status=Import.Status.FAILED, finished_at=timezone.now(), errors=report.errors
        )
    return report


def _record_finish(record: Import, report: FileReport) -> None:
    c = report.counts
    Import.objects.filter(pk=record.pk).update(
        status=report.status,
        finished_at=timezone.now(),
        rows_read=c.rows_read,
        booked=c.booked,
        duplicates=c.duplicates,
        to_review=c.to_review,
        reversals=c.reversals,
        reversals_pending=c.reversals_pending,
        not_gifts=c.not_gifts,
        rejected=c.rejected,
        errors=report.errors or report.warnings,  # warnings only come with an accepted file
    )


def statements_import(
    *,
    paths: Sequence[Path],
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    profile: Profile | None = None,
    dry_run: bool = False,
    by: User | None = None,
    progress: Callable[[str, str, int, int], None] | None = None,
    isolate_parser: bool = False,
) -> list[FileReport]:
    """Import several files in order, each on its own (one refused file stops no other)."""
    reports = []
    for path in paths:
        file_progress = None
        if progress is not None:
            label = path.name

            def file_progress(phase: str, done: int, total: int, label: str = label) -> None:
                progress(label, phase, done, total)

        reports.append(
            statement_import(
                path=path,
                account=account,
                campaign=campaign,
                profile=profile,
                dry_run=dry_run,
                by=by,
                progress=file_progress,
                isolate_parser=isolate_parser,
            )
        )
    return reports
