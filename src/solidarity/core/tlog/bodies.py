"""The body of every kind of log entry, built here and nowhere else (ARCHITECTURE.md, "The
public log"; the schema every body must pass is `entry.entry_validate`).

One function per kind, taking plain values; each returns the object `entry.entry_encode`
turns into the entry's canonical bytes. These bytes are public forever and every verifier
recomputes the totals from them, so a body's fields and their values never change for a kind
once it is published: a new field is a new kind, or a field old entries lack and readers
treat as absent.

What may stay public forever, and nothing else: amounts, times, references, the donor as the
privacy rule publishes them (`core.privacy.donor_publish`: chosen, masked or anonymous, or an
organization's name), and hashes of what stays private (the commitment to a gift's private
details, evidence files, an update's text). Never a donor's given name, account number, memo
or any other free text a donor wrote: no builder takes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from solidarity.core.banks import bank_by_key
from solidarity.core.money import ExchangeRate, Money, money_convert
from solidarity.core.tlog.entry import rfc3339
from solidarity.core.tranches import ItemLine, decimal_text, items_total


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A file of evidence as an entry names it: what it shows (`kind`), its SHA-256, its
    content type and size; never its file name."""

    kind: str
    sha256: str
    content_type: str
    size: int


def donation_body(
    *,
    campaign: str,
    amount: int,
    currency: str,
    at: datetime,
    channel: str,
    donor: str,
    ref: str,
    commit: str,
) -> dict[str, Any]:
    """A gift (`donation`): `donor` as published, `commit` the commitment to its private
    details (`core.privacy.commitment`); never its memo."""
    return {
        "kind": "donation",
        "campaign": campaign,
        "amount": amount,
        "currency": currency,
        "at": rfc3339(at),
        "channel": channel,
        "donor": donor,
        "ref": ref,
        "commit": commit,
    }


def reversal_body(
    *,
    campaign: str,
    amount: int,
    currency: str,
    at: datetime,
    channel: str,
    ref: str,
    reason: str,
) -> dict[str, Any]:
    """A gift given back or returned by the bank (`reversal`): `ref` the gift's public
    reference, `reason` the office's or the bank's (never the donor's words)."""
    return {
        "kind": "reversal",
        "campaign": campaign,
        "amount": amount,
        "currency": currency,
        "at": rfc3339(at),
        "channel": channel,
        "ref": ref,
        "reason": reason,
    }


def tranche_body(
    *,
    campaign: str,
    amount: int,
    currency: str,
    at: datetime,
    ref: str,
    recipient: str,
    purpose: str,
    on: date,
    approvals: int,
    items: Sequence[ItemLine],
    evidence: Sequence[EvidenceFile],
    rate: ExchangeRate | None = None,
) -> dict[str, Any]:
    """A tranche handed over, on day `on`: with cash (`amount` > 0) a `disbursement`;
    goods only (`amount` 0) an `in_kind` entry with direction "out", valued at the goods'
    total, so it counts in no cash total. With `rate`, the amount's recorded conversion."""
    body: dict[str, Any] = {
        "campaign": campaign,
        "currency": currency,
        "at": rfc3339(at),
        "ref": ref,
        "recipient": recipient,
        "purpose": purpose,
        "date": on.isoformat(),
        "approvals": approvals,
        "items": [_goods_line(line) for line in items],
        "evidence": [_evidence(e) for e in evidence],
    }
    if amount > 0:
        body["kind"] = "disbursement"
        body["amount"] = amount
    else:
        body["kind"] = "in_kind"
        body["direction"] = "out"
        body["amount"] = items_total(items, currency).minor
    if rate is not None:
        body["conversion"] = _conversion(Money(body["amount"], currency), rate)
    return body


def in_kind_received_body(
    *,
    campaign: str,
    currency: str,
    at: datetime,
    ref: str,
    donor: str,
    on: date,
    items: Sequence[ItemLine],
    evidence: Sequence[EvidenceFile],
) -> dict[str, Any]:
    """Goods received on day `on` (`in_kind`, direction "in"), valued at their total; `donor`
    as published."""
    return {
        "kind": "in_kind",
        "direction": "in",
        "campaign": campaign,
        "amount": items_total(items, currency).minor,
        "currency": currency,
        "at": rfc3339(at),
        "ref": ref,
        "donor": donor,
        "date": on.isoformat(),
        "items": [_goods_line(line) for line in items],
        "evidence": [_evidence(e) for e in evidence],
    }


def account_body(
    *, campaign: str, action: str, at: datetime, bank_key: str, number: str, holder: str
) -> dict[str, Any]:
    """An official receiving account `added` or `retired` (`account`). `bank_key` is the
    bank's NAPAS BIN, or the code of a bank without one, which is announced as `bank_code`
    and never as a BIN."""
    bank = bank_by_key(bank_key)
    no_bin = {"bank_code": bank_key} if bank and not bank.vietqr else {}
    return {
        "kind": "account",
        "campaign": campaign,
        "action": action,
        "at": rfc3339(at),
        "bank_bin": "" if no_bin else bank_key,
        **no_bin,
        "bank": bank.short_name if bank else "",
        "account": number,
        "holder": holder,
    }


def account_movement_body(
    *,
    campaign: str,
    at: datetime,
    bank_key: str,
    number: str,
    movement: str,
    credit: bool,
    amount: int,
    currency: str,
) -> dict[str, Any]:
    """Money into (`credit`) or out of a receiving account that is not a gift
    (`account_movement`: a bank fee, a transfer in or out); counted in no gift total."""
    return {
        "kind": "account_movement",
        "campaign": campaign,
        "at": rfc3339(at),
        "account": f"{bank_key}:{number}",
        "movement": movement,
        "direction": "in" if credit else "out",
        "amount": amount,
        "currency": currency,
    }


def update_body(
    *, campaign: str, at: datetime, title: str, text_sha256: str, tranche: int | None = None
) -> dict[str, Any]:
    """News of the campaign (`update`): its title and the SHA-256 of its text, and the
    tranche it reports on, if any."""
    return {
        "kind": "update",
        "campaign": campaign,
        "at": rfc3339(at),
        "title": title,
        "text_sha256": text_sha256,
        **({"tranche": tranche} if tranche else {}),
    }


def witness_body(
    *, campaign: str, action: str, at: datetime, vkey: str, url: str
) -> dict[str, Any]:
    """A witness `added` or `removed` (`witness`): its verifier key and submission URL
    (`cosignature.WitnessPolicy` replays these)."""
    return {
        "kind": "witness",
        "campaign": campaign,
        "action": action,
        "at": rfc3339(at),
        "vkey": vkey,
        "url": url,
    }


def witness_quorum_body(*, campaign: str, at: datetime, quorum: int) -> dict[str, Any]:
    """How many witness cosignatures a checkpoint needs from now on (`witness_quorum`)."""
    return {"kind": "witness_quorum", "campaign": campaign, "at": rfc3339(at), "quorum": quorum}


def key_body(*, campaign: str, at: datetime, vkey: str) -> dict[str, Any]:
    """The log's next signing key (`key`), announced under the current one."""
    return {"kind": "key", "campaign": campaign, "at": rfc3339(at), "vkey": vkey}


def _goods_line(line: ItemLine) -> dict[str, Any]:
    """Goods as an entry lists them: integers in minor units, the quantity as text."""
    return {
        "item": line.item,
        "quantity": decimal_text(line.quantity),
        "unit": line.unit,
        "unit_value": line.unit_value.minor,
        "total": line.total.minor,
    }


def _evidence(e: EvidenceFile) -> dict[str, Any]:
    return {"kind": e.kind, "sha256": e.sha256, "type": e.content_type, "size": e.size}


def _conversion(amount: Money, rate: ExchangeRate) -> dict[str, Any]:
    """The recorded conversion of `amount`, the rate as decimal text."""
    converted = money_convert(amount, rate)
    return {
        "rate": decimal_text(rate.rate),
        "base": rate.base,
        "quote": rate.quote,
        "source": rate.source,
        "on": rate.on.isoformat(),
        "amount": converted.minor,
        "currency": converted.currency,
    }
