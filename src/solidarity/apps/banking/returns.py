"""Returns: a bank debit that gives a gift back books that gift's reversal through
`donation_reverse`, exactly once per identity (`returns_book`); a return whose gift has not
arrived yet waits as a `PendingReversal` until that gift is booked (`pending_reversals_apply`,
`pending_reversals_sweep`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from solidarity.apps.banking.accounts import (
    Target,
)
from solidarity.apps.banking.models import (
    AccountMovement,
    PendingReversal,
)
from solidarity.apps.banking.report import BookReport
from solidarity.apps.banking.selectors import existing_refs
from solidarity.apps.donations.models import Donation, Reversal
from solidarity.apps.donations.services import (
    donation_reverse,
)
from solidarity.core.statements import (
    BankTransaction,
)


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


def returns_book(
    returns: Sequence[tuple[BankTransaction, Target, str]],
    imported: Model | None,
    report: BookReport,
) -> None:
    if not returns:
        return
    pairs = [(t.source, tx.identity) for tx, t, _ in returns]
    # A format that did not recognise the return booked it as a movement: same identity.
    done = (
        existing_refs(Reversal, pairs)
        | existing_refs(PendingReversal, pairs)
        | existing_refs(AccountMovement, pairs)
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
    refs = {(b, n, r.upper()) for b, n, r, _ in booked}
    ids: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for bin_, number in accounts:
        # Only the ids and references of every waiting return, then the few that name a
        # gift of this batch: on a long import the returns waiting grow with every batch.
        for pk, reverses_ref in (
            PendingReversal.objects.filter(bin=bin_, number=number, resolved_at__isnull=True)
            .order_by("id")
            .values_list("id", "reverses_ref")
        ):
            if (key := (bin_, number, reverses_ref)) in refs:
                ids[key].append(pk)
    if not ids:
        return 0
    found = PendingReversal.objects.in_bulk([pk for pks in ids.values() for pk in pks])
    waiting = {key: [found[pk] for pk in pks] for key, pks in ids.items()}
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
