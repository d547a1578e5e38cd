"""Re-keying of bank-transaction identities stored before IDENTITY.md's account-free keys.

Before, a key began with the account as the file spelled it (`0011001932418|ref|…`,
`970436/0011001932418|h|<digest>|1`) and a CSV/XLSX with a document number used the content
scheme. `identities_rekey` rewrites every such stored `source_ref` (gifts, returns, review
items, account movements, waiting returns) and every feed notification's `confirmed_by` to
the key today's readers give the same transaction, so importing the same files again, in any
format, books nothing twice. Public references, amounts, receipts and the log are untouched:
only the de-duplication key changes.

What can be re-keyed exactly:
- reference-scheme keys: the account prefix is dropped (`ref|…` stays, counter included);
- content-scheme keys whose digest can be recomputed from what the row stores (booking day,
  amount, direction, memo and bank reference): they become the reference-scheme key when the
  row has a bank reference (the document number of a CSV, a camt `TxId`), else today's
  content key. Counters are re-numbered in booking order per key and account.

What stays under its old key (counted in the report): a content key that cannot be
recomputed (memo erased; an MT940 customer reference or camt `EndToEndId` that was never
stored; a return, whose own document number was never stored); and a transaction already
booked twice under two spellings before this change (its second booking is reported: correct
it with a reversal). A row under an old key is never matched by a new import.

Used by migration imports 0004 (with the migration's models) and by tests.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from django.db.models import Q

from solidarity.core.matching import memo_normalize
from solidarity.core.statements.base import content_digest, ref_key
from solidarity.db import append_only_triggers

log = logging.getLogger(__name__)

_VN = timezone(timedelta(hours=7))
_APPEND_ONLY = ("donations_donation", "donations_reversal")


@dataclass
class RekeyReport:
    """What `identities_rekey` did, counted per transaction (one key may hold several rows)."""

    rekeyed: int = 0
    kept_unverifiable: int = 0
    kept_booked_twice: int = 0
    notifications: int = 0
    booked_twice: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Unit:
    """One stored transaction: the rows sharing (source, old key) in any table."""

    source: str
    old: str
    stated: str
    scheme: str
    rest: str
    rows: list[tuple[str, Any]] = field(default_factory=list)
    new: str | None = None


def _split_old(key: str) -> tuple[str, str, str] | None:
    """(stated account, scheme, rest) of an old key, None for a key of today's form."""
    if key.startswith(("ref|", "h|")):
        return None
    stated, sep, rest = key.partition("|")
    if not sep or not stated:
        return None
    scheme, sep, rest = rest.partition("|")
    if not sep or scheme not in ("ref", "h"):
        return None
    return stated, scheme, rest


def _old_digest(
    *, stated: str, day: date, direction: str, amount: int, ccy: str, ref: str, memo: str
) -> str:
    """The content digest as it was computed before (the stated account included)."""
    fields = (stated, day.isoformat(), direction, str(amount), ccy, ref, memo_normalize(memo))
    return hashlib.blake2b("\x1f".join(fields).encode(), digest_size=16).hexdigest()


def _facts(kind: str, row: Any, memos: dict[int, str]) -> dict[str, Any]:
    """What a stored row says about its transaction (missing facts are None)."""
    if kind == "donation":
        return {
            "at": row.received_at,
            "direction": "credit",
            "amount": row.amount_minor,
            "ccy": row.currency,
            "bank_ref": row.bank_ref,
            "memo": memos.get(row.pk),
        }
    if kind == "reversal":
        return {
            "at": row.reversed_at,
            "direction": "debit",
            "amount": row.donation.amount_minor,
            "ccy": row.donation.currency,
            "bank_ref": None,
            "memo": None,
        }
    direction = "debit"
    if kind == "review" or (kind == "movement" and row.kind == "transfer_in"):
        direction = "credit"
    return {
        "at": row.booked_at,
        "direction": direction,
        "amount": row.amount_minor,
        "ccy": row.currency,
        "bank_ref": getattr(row, "bank_ref", None),
        "memo": row.memo,
    }


def _content_base(unit: _Unit, facts: list[dict[str, Any]]) -> tuple[str, int, datetime] | None:
    """(new key before its counter, old counter, booked at) of an old content key, or None
    when no stored row lets its digest be recomputed."""
    digest, _, n = unit.rest.partition("|")
    for f in facts:
        if f["memo"] is None or f["at"] is None:
            continue
        at: datetime = f["at"]
        days = {at.astimezone(_VN).date(), at.astimezone(UTC).date()}
        refs = {f["bank_ref"] or "", ""} if f["bank_ref"] is not None else {""}
        for day in sorted(days):
            for ref in sorted(refs, reverse=True):
                old = _old_digest(
                    stated=unit.stated,
                    day=day,
                    direction=f["direction"],
                    amount=f["amount"],
                    ccy=f["ccy"],
                    ref=ref,
                    memo=f["memo"],
                )
                if old != digest:
                    continue
                if ref:
                    base = ref_key(
                        ref=ref,
                        direction=f["direction"],
                        amount_minor=f["amount"],
                        currency=f["ccy"],
                        day=day,
                    )
                else:
                    new_digest = content_digest(
                        ref=None,
                        direction=f["direction"],
                        amount_minor=f["amount"],
                        currency=f["ccy"],
                        day=day,
                        normalized_memo=memo_normalize(f["memo"]),
                    )
                    base = f"h|{new_digest}"
                return base, int(n) if n.isdigit() else 1, at
    return None


def _banking_model(model: Callable[[str, str], Any], name: str) -> Any:
    """A model of the banking app; before its migration 0001 (as in imports 0004) the same
    table's model still belongs to the imports app."""
    try:
        return model("banking", name)
    except LookupError:
        return model("imports", name)


def identities_rekey(
    *, model: Callable[[str, str], Any], execute: Callable[[str], None], vendor: str
) -> RekeyReport:
    """Re-key every stored old-form identity (module docstring). `model(app, name)` returns a
    model class (the migration's historical models or the live ones); `execute` runs SQL on
    the same connection as a schema editor does (`%%` stands for `%`), `vendor` names its
    database. Must run in one transaction: the
    append-only guard of gifts and returns is lifted for the `source_ref` update only and is
    back in place before the transaction ends."""
    tables = {
        "donation": model("donations", "Donation"),
        "reversal": model("donations", "Reversal"),
        "review": _banking_model(model, "ReviewItem"),
        "movement": _banking_model(model, "AccountMovement"),
        "pending": _banking_model(model, "PendingReversal"),
    }
    units: dict[tuple[str, str], _Unit] = {}
    rows_by_kind: dict[str, list[Any]] = {}
    for kind, cls in tables.items():
        qs = cls.objects.filter(source__startswith="bank:")
        if kind == "reversal":
            qs = qs.select_related("donation")
        rows = [r for r in qs.order_by("id") if _split_old(r.source_ref) is not None]
        rows_by_kind[kind] = rows
        for r in rows:
            split = _split_old(r.source_ref)
            assert split is not None
            unit = units.get((r.source, r.source_ref))
            if unit is None:
                unit = units[(r.source, r.source_ref)] = _Unit(r.source, r.source_ref, *split)
            unit.rows.append((kind, r))
    report = RekeyReport()
    if not units:
        return report
    private = model("donations", "DonationPrivate")
    gift_ids = [r.pk for r in rows_by_kind["donation"]]
    memos: dict[int, str] = {}
    for start in range(0, len(gifts := gift_ids), 900):
        memos.update(
            private.objects.filter(donation_id__in=gifts[start : start + 900]).values_list(
                "donation_id", "memo"
            )
        )

    taken: set[tuple[str, str]] = set()
    # Keys already in today's form (booked after the upgrade began, or by feeds) are taken.
    for cls in tables.values():
        taken.update(
            cls.objects.filter(source__startswith="bank:")
            .filter(Q(source_ref__startswith="ref|") | Q(source_ref__startswith="h|"))
            .values_list("source", "source_ref")
        )
    # Reference keys: exact; the first booking of a transfer (lowest id) gets the key.
    for unit in units.values():
        if unit.scheme == "ref":
            _claim(unit, f"ref|{unit.rest}", taken, report)
    # Content keys: recompute, then number the occurrences per (account, key) in booking order.
    groups: dict[tuple[str, str], list[tuple[int, datetime, int, _Unit]]] = defaultdict(list)
    for unit in units.values():
        if unit.scheme != "h":
            continue
        found = _content_base(unit, [_facts(k, r, memos) for k, r in unit.rows])
        if found is None:
            report.kept_unverifiable += 1
            continue
        base, old_n, at = found
        first_pk = min(r.pk for _, r in unit.rows)
        groups[(unit.source, base)].append((old_n, at, first_pk, unit))
    for (_, base), members in groups.items():
        members.sort(key=lambda m: (m[1], m[0], m[2]))
        for n, (_, _, _, unit) in enumerate(members, start=1):
            suffix = ("" if n == 1 else f"#{n}") if base.startswith("ref|") else f"|{n}"
            key = base + suffix
            _claim(unit, key, taken, report)

    changed = [u for u in units.values() if u.new is not None]
    if not changed:
        return report
    _guard(execute, vendor, create=False)
    try:
        for unit in changed:
            for kind, row in unit.rows:
                tables[kind].objects.filter(pk=row.pk).update(source_ref=unit.new)
    finally:
        _guard(execute, vendor, create=True)
    report.rekeyed = len(changed)
    report.notifications = _notifications_rekey(model, {u.old: u.new for u in changed})
    if report.kept_unverifiable or report.kept_booked_twice:
        log.warning(
            "identities re-keyed: %d; kept under the old key: %d not recomputable, "
            "%d booked twice before (correct with a reversal): %s",
            report.rekeyed,
            report.kept_unverifiable,
            report.kept_booked_twice,
            ", ".join(f"{s} {k}" for s, k in report.booked_twice[:20]),
        )
    return report


def _claim(unit: _Unit, key: str, taken: set[tuple[str, str]], report: RekeyReport) -> None:
    if (unit.source, key) in taken:
        report.kept_booked_twice += 1
        report.booked_twice.append((unit.source, unit.old))
        return
    taken.add((unit.source, key))
    unit.new = key


def _notifications_rekey(model: Callable[[str, str], Any], mapping: dict[str, str | None]) -> int:
    """Feed notifications confirmed by a statement line keep pointing at it (`confirmed_by`)."""
    try:
        notification = model("feeds", "Notification")
    except LookupError:
        return 0
    done = 0
    olds = list(mapping)
    for start in range(0, len(olds), 900):
        chunk = olds[start : start + 900]
        for pk, old in notification.objects.filter(confirmed_by__in=chunk).values_list(
            "pk", "confirmed_by"
        ):
            new = mapping[old]
            if new is not None:
                done += notification.objects.filter(pk=pk).update(confirmed_by=new[:240])
    return done


def _guard(execute: Callable[[str], None], vendor: str, *, create: bool) -> None:
    """Drop or restore the append-only triggers of gifts and returns (solidarity.db)."""
    editor = SimpleNamespace(connection=SimpleNamespace(vendor=vendor), execute=execute)
    append_only_triggers(editor, _APPEND_ONLY, create=create)
