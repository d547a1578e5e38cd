"""Proposing, approving, rejecting, cancelling and handing over tranches; in-kind gifts.

Rules: N = campaign.approvals_required distinct approvers, none of them the proposer; a
tranche never takes the balance below what approved-but-not-handed-over tranches already
promise, checked at every approval and again at hand-over while the campaign's totals row
is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialize
writers). Handing over books the ledger and appends the log entry in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER
from solidarity.apps.accounts.services import user_has_role
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import (
    Evidence,
    InKindGift,
    InKindLine,
    InKindTotals,
    Tranche,
    TrancheEvent,
)
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.apps.ledger.services import TransactionInput, totals_apply, transactions_post
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core import ledger as core_ledger
from solidarity.core.errors import Refused
from solidarity.core.money import ExchangeRate, Money, MoneyError, money_convert
from solidarity.core.privacy import ANONYMOUS, donor_publish
from solidarity.core.statements.base import StatementError
from solidarity.core.tlog.bodies import EvidenceFile, in_kind_received_body, tranche_body
from solidarity.core.tranches import (
    GoodsReceived,
    ItemLine,
    commit_errors,
    decimal_text,
    item_errors,
    items_total,
    rate_build,
)

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
# Served inline with their own type; anything else is served as an attachment.
SAFE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
PROPOSER_ROLES = (ACCOUNTANT, APPROVER, ADMIN)
HANDOVER_ROLES = (ACCOUNTANT, APPROVER, ADMIN)


class TrancheRefused(Refused):
    """A tranche request that cannot be carried out; `errors` lists every reason. Nothing
    was written."""


@dataclass(frozen=True, slots=True)
class RateInput:
    """One `base` unit is worth `rate` units of the tranche's currency, per `source` on `on`."""

    rate: Decimal
    base: str
    source: str
    on: date


@dataclass(frozen=True, slots=True)
class EvidenceInput:
    name: str
    data: bytes
    kind: str = Evidence.Kind.OTHER


def evidence_type(data: bytes) -> str:
    """The content type to serve `data` with: a safe type by its magic bytes, or octet-stream."""
    for magic, content_type in SAFE_TYPES.items():
        if data.startswith(magic):
            return content_type
    return "application/octet-stream"


def evidence_name(sha256: str) -> str:
    """The name of an evidence file in the default storage (Django's STORAGES["default"]:
    MEDIA_ROOT on one machine, object storage shared by every node when configured)."""
    return f"evidence/{sha256}"


def evidence_read(sha256: str) -> bytes | None:
    """The stored bytes of an evidence file, or None when absent or not what its name says."""
    name = evidence_name(sha256)
    try:
        with default_storage.open(name, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError):
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _evidence_errors(files: Sequence[EvidenceInput]) -> list[str]:
    errors = []
    for f in files:
        if not f.data:
            errors.append(f"evidence {f.name!r} is empty")
        elif len(f.data) > MAX_EVIDENCE_BYTES:
            errors.append(
                f"evidence {f.name!r} is {len(f.data):,} bytes; the limit is {MAX_EVIDENCE_BYTES:,}"
            )
        if f.kind not in Evidence.Kind.values:
            errors.append(f"evidence {f.name!r}: unknown kind {f.kind!r}")
    return errors


def _evidence_store(data: bytes) -> str:
    """Store `data` under its SHA-256 name; returns the hash. Idempotent.

    The file is complete before the row naming it commits: a stored file is used only when
    its bytes hash to its name (a write cut short is replaced), so a crash leaves at worst an
    unreferenced file, never a row without its file.
    """
    digest = hashlib.sha256(data).hexdigest()
    if evidence_read(digest) is not None:
        return digest
    name = evidence_name(digest)
    if default_storage.exists(name):
        default_storage.delete(name)  # incomplete: its bytes do not hash to its name
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # written meanwhile by another request: keep one copy
        default_storage.delete(saved)
    return digest


def _evidence_save(
    tranche: Tranche, by: User, files: Sequence[EvidenceInput], now: Any
) -> list[Evidence]:
    rows = []
    for f in files:
        digest = _evidence_store(f.data)
        if Evidence.objects.filter(tranche=tranche, sha256=digest).exists():
            continue
        rows.append(
            Evidence.objects.create(
                tranche=tranche,
                kind=f.kind,
                name=Path(f.name).name[:200] or digest[:12],
                sha256=digest,
                content_type=evidence_type(f.data),
                size=len(f.data),
                uploaded_by=by,
                uploaded_at=now,
            )
        )
        TrancheEvent.objects.create(
            tranche=tranche, action=TrancheEvent.Action.EVIDENCE, by=by, at=now, note=digest
        )
    return rows


def _who(user: User) -> str:
    return user.get_username()


def _in_kind_lines_add(items: Sequence[Any], **owner: Any) -> None:
    """Store goods lines for their owner (`tranche=` or `gift=`)."""
    InKindLine.objects.bulk_create(
        [
            InKindLine(
                **owner,
                item=line.item.strip()[:200],
                quantity=line.quantity,
                unit=line.unit.strip()[:40],
                unit_value_minor=line.unit_value.minor,
                total_minor=line.total.minor,
            )
            for line in items
        ]
    )


def tranche_propose(
    *,
    campaign: Campaign,
    by: User,
    recipient: str,
    amount_minor: int,
    currency: str,
    date: date,
    purpose: str = "",
    rate: RateInput | None = None,
    items: Sequence[ItemLine] = (),
    evidence: Sequence[EvidenceInput] = (),
) -> Tranche:
    """Record a proposed tranche; TrancheRefused (nothing written) if it is invalid.

    `amount_minor` is cash leaving the campaign's account; 0 for a tranche of goods only,
    which then needs at least one item line with a value.
    """
    errors = []
    if not user_has_role(by, *PROPOSER_ROLES):
        errors.append(
            f"{_who(by)} may not propose tranches (needs the accountant or approver role)"
        )
    if campaign.status == Campaign.Status.DRAFT:
        errors.append(f"campaign {campaign.slug} is a draft")
    if not recipient.strip():
        errors.append("a tranche needs a recipient organization")
    if currency != campaign.currency:
        errors.append(
            f"the tranche is in {currency} but {campaign.slug} keeps its books in "
            f"{campaign.currency}; give the amount in {campaign.currency} and record a rate "
            "for the other currency"
        )
    if type(amount_minor) is not int or amount_minor < 0:
        errors.append("the amount must be a whole, non-negative number of minor units")
    for i, line in enumerate(items):
        errors.extend(item_errors(line, f"item {i + 1}"))
        if line.unit_value.currency != campaign.currency:
            errors.append(f"item {i + 1}: value in {line.unit_value.currency}, not {currency}")
    if not errors and amount_minor == 0 and (not items or items_total(items, currency).minor <= 0):
        errors.append("a tranche needs an amount, or goods with a value")
    exchange: ExchangeRate | None = None
    if rate is not None and not errors:
        try:
            exchange = rate_build(
                rate=rate.rate, base=rate.base, quote=currency, source=rate.source, on=rate.on
            )
        except MoneyError as exc:
            errors.append(f"rate: {exc}")
    errors.extend(_evidence_errors(evidence))
    if errors:
        raise TrancheRefused(errors)
    now = timezone.now()
    with transaction.atomic():
        tranche = Tranche.objects.create(
            campaign=campaign,
            recipient=recipient.strip()[:200],
            date=date,
            amount_minor=amount_minor,
            currency=currency,
            purpose=purpose.strip(),
            account=campaign.accounts.order_by("id").first(),
            rate=decimal_text(exchange.rate) if exchange else "",
            rate_base=exchange.base if exchange else "",
            rate_source=exchange.source[:200] if exchange else "",
            rate_date=exchange.on if exchange else None,
            counter_minor=(
                money_convert(Money(amount_minor, currency), exchange).minor
                if exchange and amount_minor
                else None
            ),
            proposed_by=by,
            proposed_at=now,
        )
        _in_kind_lines_add(items, tranche=tranche)
        TrancheEvent.objects.create(
            tranche=tranche, action=TrancheEvent.Action.PROPOSED, by=by, at=now
        )
        _evidence_save(tranche, by, evidence, now)
    return tranche


def _lock(tranche: Tranche) -> tuple[CampaignTotals, Tranche]:
    """Lock the campaign's totals row, then the tranche, always in this order.

    Must be called inside `transaction.atomic`; the locks hold until it commits.
    """
    totals = CampaignTotals.objects.select_for_update().get(campaign_id=tranche.campaign_id)
    locked = Tranche.objects.select_for_update().select_related("campaign").get(pk=tranche.pk)
    return totals, locked


def _committed(tranche: Tranche) -> int:
    """Cash promised by approved tranches not yet handed over, other than `tranche`."""
    value = (
        Tranche.objects.filter(campaign_id=tranche.campaign_id, status=Tranche.Status.APPROVED)
        .exclude(pk=tranche.pk)
        .aggregate(s=Sum("amount_minor"))["s"]
    )
    return int(value or 0)


def _balance_errors(totals: CampaignTotals, tranche: Tranche) -> list[str]:
    if tranche.amount_minor == 0:
        return []
    return commit_errors(
        amount=tranche.amount_minor,
        balance=totals.balance_minor,
        committed=_committed(tranche),
        currency=tranche.currency,
    )


def tranche_approve(*, tranche: Tranche, by: User, note: str = "") -> Tranche:
    """Add `by`'s approval; the tranche is approved once it has N distinct approvals."""
    if not user_has_role(by, APPROVER):
        raise TrancheRefused([f"{_who(by)} does not have the approver role"])
    try:
        with transaction.atomic():
            totals, locked = _lock(tranche)
            errors = []
            if locked.status != Tranche.Status.PROPOSED:
                errors.append(
                    f"tranche {locked.pk} is {locked.status}; only a proposed tranche is approved"
                )
            if locked.proposed_by_id == by.pk:
                errors.append(f"{_who(by)} proposed tranche {locked.pk} and cannot approve it")
            if locked.events.filter(action=TrancheEvent.Action.APPROVED, by=by).exists():
                errors.append(f"{_who(by)} has already approved tranche {locked.pk}")
            if not errors:
                errors.extend(_balance_errors(totals, locked))
            if errors:
                raise TrancheRefused(errors)
            now = timezone.now()
            TrancheEvent.objects.create(
                tranche=locked, action=TrancheEvent.Action.APPROVED, by=by, at=now, note=note[:500]
            )
            approvals = locked.events.filter(action=TrancheEvent.Action.APPROVED).count()
            if approvals >= locked.campaign.approvals_required:
                locked.status = Tranche.Status.APPROVED
                locked.approved_at = now
                locked.save(update_fields=["status", "approved_at"])
    except IntegrityError:
        # The unique (tranche, approver) constraint: the same person, a moment earlier.
        raise TrancheRefused([f"{_who(by)} has already approved tranche {tranche.pk}"]) from None
    return locked


def _close(
    *, tranche: Tranche, by: User, status: str, action: str, note: str, errors: list[str]
) -> Tranche:
    with transaction.atomic():
        _, locked = _lock(tranche)
        if locked.status not in (Tranche.Status.PROPOSED, Tranche.Status.APPROVED):
            errors.append(f"tranche {locked.pk} is {locked.status}; it cannot be {status}")
        if errors:
            raise TrancheRefused(errors)
        locked.status = status
        locked.save(update_fields=["status"])
        TrancheEvent.objects.create(
            tranche=locked, action=action, by=by, at=timezone.now(), note=note[:500]
        )
    return locked


def tranche_reject(*, tranche: Tranche, by: User, reason: str) -> Tranche:
    """An approver turns a proposed or approved tranche down, with a reason."""
    errors = []
    if not user_has_role(by, APPROVER):
        errors.append(f"{_who(by)} does not have the approver role")
    if not reason.strip():
        errors.append("a rejection needs a reason")
    return _close(
        tranche=tranche,
        by=by,
        status=Tranche.Status.REJECTED,
        action=TrancheEvent.Action.REJECTED,
        note=reason,
        errors=errors,
    )


def tranche_cancel(*, tranche: Tranche, by: User, reason: str = "") -> Tranche:
    """The proposer (or an accountant, approver or admin) withdraws a tranche."""
    errors = []
    if tranche.proposed_by_id != by.pk and not user_has_role(by, *HANDOVER_ROLES):
        errors.append(f"{_who(by)} may not cancel tranche {tranche.pk}")
    return _close(
        tranche=tranche,
        by=by,
        status=Tranche.Status.CANCELLED,
        action=TrancheEvent.Action.CANCELLED,
        note=reason,
        errors=errors,
    )


def evidence_add(*, tranche: Tranche, by: User, files: Sequence[EvidenceInput]) -> list[Evidence]:
    """Attach evidence files to a tranche that is not closed."""
    errors = _evidence_errors(files)
    if not user_has_role(by, *HANDOVER_ROLES):
        errors.append(f"{_who(by)} may not add evidence")
    if not files:
        errors.append("no file given")
    if errors:
        raise TrancheRefused(errors)
    with transaction.atomic():
        _, locked = _lock(tranche)
        if locked.status in (Tranche.Status.REJECTED, Tranche.Status.CANCELLED):
            raise TrancheRefused([f"tranche {locked.pk} is {locked.status}"])
        return _evidence_save(locked, by, files, timezone.now())


def _tranche_body(tranche: Tranche, at: datetime) -> dict[str, Any]:
    """The log entry body of a handed-over tranche (`bodies.tranche_body`), from its rows."""
    return tranche_body(
        campaign=tranche.campaign.slug,
        amount=tranche.amount_minor,
        currency=tranche.currency,
        at=at,
        ref=tranche.log_ref,
        recipient=tranche.recipient,
        purpose=tranche.purpose,
        on=tranche.date,
        approvals=tranche.events.filter(action=TrancheEvent.Action.APPROVED).count(),
        items=[_line_value(line, tranche.currency) for line in tranche.lines.all()],
        evidence=[_evidence_file(e) for e in tranche.evidence.all()],
        rate=tranche_rate(tranche),
    )


def _evidence_file(e: Evidence) -> EvidenceFile:
    return EvidenceFile(e.kind, e.sha256, e.content_type, e.size)


def tranche_rate(tranche: Tranche) -> ExchangeRate | None:
    if not tranche.rate:
        return None
    return ExchangeRate(
        base=tranche.rate_base,
        quote=tranche.currency,
        rate=Decimal(tranche.rate),
        source=tranche.rate_source,
        on=tranche.rate_date or tranche.date,
    )


def _line_value(line: InKindLine, currency: str) -> ItemLine:
    return ItemLine(line.item, line.quantity, line.unit, Money(line.unit_value_minor, currency))


def tranche_handover(
    *,
    tranche: Tranche,
    by: User,
    evidence: Sequence[EvidenceInput] = (),
    note: str = "",
    handed_over_on: date | None = None,
) -> Tranche:
    """Hand an approved tranche over: book it, append its log entry, in one transaction.

    `handed_over_on` is the day the goods or money actually changed hands when it is not the
    day proposed (`Tranche.date`); it becomes the tranche's date, the `date` of its log entry
    and the day statements list it on. It cannot be in the future.
    """
    errors = _evidence_errors(evidence)
    if not user_has_role(by, *HANDOVER_ROLES):
        errors.append(f"{_who(by)} may not hand tranches over (needs the accountant role)")
    if handed_over_on is not None and handed_over_on > timezone.localdate():
        errors.append(f"the handover date {handed_over_on.isoformat()} is in the future")
    if errors:
        raise TrancheRefused(errors)
    with transaction.atomic():
        totals, locked = _lock(tranche)
        if locked.status != Tranche.Status.APPROVED:
            errors.append(
                f"tranche {locked.pk} is {locked.status}; only an approved tranche is handed over"
            )
        else:
            errors.extend(_balance_errors(totals, locked))
        account = locked.account or locked.campaign.accounts.order_by("id").first()
        if locked.amount_minor > 0 and account is None:
            errors.append(f"campaign {locked.campaign.slug} has no bank account to pay from")
        if errors:
            raise TrancheRefused(errors)
        now = timezone.now()
        campaign = locked.campaign
        if handed_over_on is not None and handed_over_on != locked.date:
            note = f"{note} (proposed for {locked.date.isoformat()})".strip()
            locked.date = handed_over_on
        _evidence_save(locked, by, evidence, now)
        if locked.amount_minor > 0:
            assert account is not None
            (locked.txn_id,) = transactions_post(
                campaign=campaign,
                items=[
                    TransactionInput(
                        kind="disbursement",
                        postings=core_ledger.disbursement_postings(
                            source_account=account.ledger_code,
                            campaign=campaign.slug,
                            amount=Money(locked.amount_minor, locked.currency),
                        ),
                        occurred_at=now,
                        memo=f"tranche {locked.pk} to {locked.recipient}",
                    )
                ],
            )
            totals_apply(campaign=campaign, disbursed=locked.amount_minor)
        body = _tranche_body(locked, now)
        kind = body["kind"]
        if kind == "in_kind":
            _in_kind_totals_add(campaign, handed_over=body["amount"])
        (locked.log_entry_id,) = log_entries_append(
            campaign=campaign, entries=[(kind, locked.log_ref, body)]
        )
        locked.status = Tranche.Status.HANDED_OVER
        locked.handed_over_at = now
        locked.account = account
        locked.save(
            update_fields=["status", "handed_over_at", "account", "txn", "log_entry", "date"]
        )
        TrancheEvent.objects.create(
            tranche=locked, action=TrancheEvent.Action.HANDED_OVER, by=by, at=now, note=note[:500]
        )
    return locked


def _in_kind_totals_add(campaign: Campaign, *, received: int = 0, handed_over: int = 0) -> None:
    InKindTotals.objects.get_or_create(campaign=campaign)
    InKindTotals.objects.filter(campaign=campaign).update(
        received_minor=F("received_minor") + received,
        handed_over_minor=F("handed_over_minor") + handed_over,
    )


DONOR_KINDS = ("organization", "person")
PRIVACY_CHOICES = ("named", "masked", "anonymous")


def in_kind_donor_publish(*, kind: str, name: str, privacy: str) -> str:
    """The donor of goods as the public sees them: an organization by its name; a person as
    they chose (named, masked, or anonymous), the rule gifts of money follow."""
    if kind == "organization":
        return " ".join(name.split())[:200] or ANONYMOUS
    return donor_publish(privacy, name)[:200]  # type: ignore[arg-type]


def in_kind_gift_record(
    *,
    campaign: Campaign,
    by: User,
    donor: str,
    received_on: date,
    items: Sequence[ItemLine],
    note: str = "",
    donor_kind: str = "organization",
    privacy: str = "masked",
    evidence: Sequence[EvidenceInput] = (),
) -> InKindGift:
    """Record goods donated to `campaign` and publish them as an `in_kind` log entry
    (direction "in") with the donor as published, the goods and the evidence hashes.

    `donor` is the name given; what is published follows `in_kind_donor_publish`. Does not
    change cash raised or the balance; adds to the campaign's in-kind total. TrancheRefused
    lists every problem; nothing is written then.
    """
    errors = []
    if not user_has_role(by, ACCOUNTANT, ADMIN):
        errors.append(f"{_who(by)} may not record gifts in kind (needs the accountant role)")
    if campaign.status == Campaign.Status.DRAFT:
        errors.append(f"campaign {campaign.slug} is a draft")
    if donor_kind not in DONOR_KINDS:
        errors.append(f"donor kind {donor_kind!r}: use organization or person")
    if privacy not in PRIVACY_CHOICES:
        errors.append(f"privacy {privacy!r}: use named, masked or anonymous")
    if donor_kind == "organization" and not donor.strip():
        errors.append("an organization needs its name")
    if not items:
        errors.append("a gift in kind needs at least one item")
    for i, line in enumerate(items):
        errors.extend(item_errors(line, f"item {i + 1}"))
        if line.unit_value.currency != campaign.currency:
            errors.append(
                f"item {i + 1}: value in {line.unit_value.currency}, not {campaign.currency}"
            )
    if not errors and items_total(items, campaign.currency).minor <= 0:
        errors.append("a gift in kind needs a value above zero")
    errors.extend(_evidence_errors(evidence))
    if errors:
        raise TrancheRefused(errors)
    total = items_total(items, campaign.currency)
    now = timezone.now()
    with transaction.atomic():
        gift = InKindGift.objects.create(
            campaign=campaign,
            donor=in_kind_donor_publish(kind=donor_kind, name=donor, privacy=privacy),
            donor_kind=donor_kind,
            donor_privacy="named" if donor_kind == "organization" else privacy,
            donor_name=" ".join(donor.split())[:200],
            received_on=received_on,
            total_minor=total.minor,
            currency=campaign.currency,
            note=note[:500],
            recorded_by=by,
            recorded_at=now,
        )
        _in_kind_lines_add(items, gift=gift)
        files = _gift_evidence_save(gift, by, evidence, now)
        _in_kind_totals_add(campaign, received=total.minor)
        (gift.log_entry_id,) = log_entries_append(
            campaign=campaign,
            entries=[
                (
                    "in_kind",
                    gift.log_ref,
                    in_kind_received_body(
                        campaign=campaign.slug,
                        currency=campaign.currency,
                        at=now,
                        ref=gift.log_ref,
                        donor=gift.donor,
                        on=received_on,
                        items=items,
                        evidence=[_evidence_file(e) for e in files],
                    ),
                )
            ],
        )
        gift.save(update_fields=["log_entry"])
    return gift


def _gift_evidence_save(
    gift: InKindGift, by: User, files: Sequence[EvidenceInput], now: Any
) -> list[Evidence]:
    rows: dict[str, Evidence] = {}
    for f in files:
        digest = _evidence_store(f.data)
        if digest in rows:
            continue
        rows[digest] = Evidence.objects.create(
            gift=gift,
            kind=f.kind,
            name=Path(f.name).name[:200] or digest[:12],
            sha256=digest,
            content_type=evidence_type(f.data),
            size=len(f.data),
            uploaded_by=by,
            uploaded_at=now,
        )
    return list(rows.values())


class GoodsImportRefused(TrancheRefused):
    """A goods file refused as a whole; `located` keeps each error's file, line and field."""

    def __init__(self, located: Sequence[StatementError]) -> None:
        self.located = list(located)
        super().__init__(str(e) for e in self.located)


def in_kind_gifts_import(
    *,
    campaign: Campaign,
    by: User,
    file: str,
    gifts: Sequence[GoodsReceived],
    evidence: Mapping[str, EvidenceInput] | None = None,
) -> list[InKindGift]:
    """Record every gift of a goods file (`goods_csv_parse`), or none.

    `evidence` maps the names the file's `evidence` column gives to their contents. Each gift
    is checked as `in_kind_gift_record` checks one; GoodsImportRefused lists every problem
    with the line of the gift it belongs to, and nothing is written then.
    """
    evidence = evidence or {}
    if not user_has_role(by, ACCOUNTANT, ADMIN):
        raise GoodsImportRefused(
            [
                StatementError(
                    file,
                    1,
                    "user",
                    f"{_who(by)} may not record gifts in kind (needs the accountant role)",
                )
            ]
        )
    located: list[StatementError] = []
    for g in gifts:
        for name in g.evidence:
            if name not in evidence:
                located.append(StatementError(file, g.line, "evidence", f"{name!r}: no such file"))
    if located:
        raise GoodsImportRefused(located)
    recorded = []
    with transaction.atomic():
        for g in gifts:
            try:
                with transaction.atomic():
                    recorded.append(
                        in_kind_gift_record(
                            campaign=campaign,
                            by=by,
                            donor=g.donor,
                            donor_kind=g.donor_kind,
                            privacy=g.privacy,
                            received_on=g.received_on,
                            items=g.items,
                            note=g.note,
                            evidence=[evidence[name] for name in g.evidence],
                        )
                    )
            except TrancheRefused as exc:
                located.extend(StatementError(file, g.line, "gift", e) for e in exc.errors)
        if located:
            transaction.set_rollback(True)
    if located:
        raise GoodsImportRefused(located)
    return recorded
