"""`solidarity log recover`: bring the books back in line with the published log.

A database restored from a backup can be behind the log the world has already seen: entries
were published after the backup was taken. Their public parts are in the published entry
bundles. Recovery writes each missing entry back at its index, byte for byte, and books what
it describes as far as the public data allows, marked as recovered:

- `donation`: a gift (journal transaction from `asset:clearing:<channel>`, the totals, the
  search index) with `source = RECOVERED_SOURCE` and `source_ref` = the entry's public
  reference. The public reference is derived from the gift's real identity with the
  installation's secret (`public_ref_derive`), so when the same statement or notification
  arrives again, booking recognises the recovered gift by it and books nothing twice.
- `reversal`: the reversal of the gift it names (booked or recovered).
- kinds that move no money (`account`, `key`): the log entry only.

Limits (the public entry does not carry them): the donor's private details and the salt of
the commitment (a recovered gift's commitment cannot be opened), the sender's account (the
donor count does not grow), the receiving account and bank reference (a returned transfer
in a later statement cannot find a recovered gift and waits as a pending return). Entries of
other money kinds (tranches, goods) are refused with their indexes: they are booked by
people and must be booked again by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Channel, Donation, Reversal
from solidarity.apps.donations.search import search_body, search_rows_add
from solidarity.apps.donations.services import (
    RECOVERED_SOURCE,
    goal_reached_update,
    reversal_postings,
    reversed_txn_id,
)
from solidarity.apps.ledger.services import TransactionInput, totals_apply, transactions_post
from solidarity.apps.transparency.sequencer import (
    log_divergence,
    log_head_reserve,
    log_lock,
    log_published_open,
)
from solidarity.apps.transparency.services import log_entries_restore
from solidarity.core import ledger as core_ledger
from solidarity.core.errors import Refused
from solidarity.core.ledger import account_code
from solidarity.core.money import Money
from solidarity.core.tlog.entry import EntryError, entry_decode
from solidarity.core.tlog.tiles import ENTRIES, TILE_HEIGHT, TILE_WIDTH, bundle_decode, tile_path
from solidarity.db import db_datetime, rows_insert

_NO_MONEY = frozenset({"account", "key"})


class RecoveryRefused(Refused):
    """The log cannot be recovered as it stands; `errors` says why. Nothing was written."""


@dataclass(frozen=True)
class RecoveryReport:
    slug: str
    size: int
    entries: int = 0
    gifts: int = 0
    reversals: int = 0
    raised_minor: int = 0


def log_recover(*, campaign: Campaign) -> RecoveryReport:
    """Write the published entries the database is missing, and book them, in one transaction.

    Takes the log's lock (RecoveryRefused when a sequencer holds it). Refuses when the
    database holds different entries at published indexes: those cannot be recovered.
    """
    with log_lock(campaign.slug) as got:
        if not got:
            raise RecoveryRefused([f"log {campaign.slug}: another process holds its lock"])
        state, store, current = log_published_open(campaign)
        if current is None:
            return RecoveryReport(campaign.slug, 0)
        found = log_divergence(campaign, state, store, current)
        if found.different or found.tiles_bad:
            raise RecoveryRefused([f"log {state.origin}: {found.describe(campaign.slug)}"])
        if not found.missing:
            return RecoveryReport(campaign.slug, current.size)
        entries = _published_entries(store, current.size, found.missing)
        with transaction.atomic():
            log_head_reserve(campaign, current.size)
            report = _book(campaign, entries, current.size)
        log_divergence(campaign, state, store, current)  # records the agreement in LogState
        return report


def _published_entries(store: Any, size: int, indexes: tuple[int, ...]) -> list[tuple[int, bytes]]:
    bundles: dict[int, list[bytes]] = {}
    out = []
    for i in indexes:
        t = i >> TILE_HEIGHT
        if t not in bundles:
            width = min(TILE_WIDTH, size - t * TILE_WIDTH)
            path = tile_path(ENTRIES, t, width)
            data = store.read(path)
            if data is None:
                raise RecoveryRefused([f"{path}: missing from the published log"])
            bundles[t] = bundle_decode(data, width)
        out.append((i, bundles[t][i & (TILE_WIDTH - 1)]))
    return out


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _book(campaign: Campaign, entries: list[tuple[int, bytes]], size: int) -> RecoveryReport:
    decoded: list[tuple[int, bytes, dict[str, Any]]] = []
    errors = []
    for index, body in entries:
        try:
            obj = entry_decode(body)
        except EntryError as e:
            errors.append(f"entry {index}: {e}")
            continue
        kind = obj["kind"]
        if obj.get("campaign") != campaign.slug:
            errors.append(f"entry {index}: of campaign {obj.get('campaign')!r}")
        elif kind not in ("donation", "reversal") and kind not in _NO_MONEY:
            errors.append(
                f"entry {index}: a {kind!r} entry cannot be booked from the log; book it "
                "again as it was booked before the restore"
            )
        elif kind in ("donation", "reversal") and obj["currency"] != campaign.currency:
            errors.append(
                f"entry {index}: in {obj['currency']}, the campaign is kept in {campaign.currency}"
            )
        decoded.append((index, body, obj))
    refs = [str(o.get("ref", "")) for _, _, o in decoded if o["kind"] == "donation"]
    again = set(Donation.objects.filter(public_ref__in=refs).values_list("public_ref", flat=True))
    errors.extend(
        f"entry {i}: gift {o['ref']} is booked already, at another index of the log (booked "
        "again after the restore, before this recovery)"
        for i, _, o in decoded
        if o["kind"] == "donation" and o.get("ref") in again
    )
    if errors:
        raise RecoveryRefused(errors)
    gifts = reversals = raised = 0
    for index, body, obj in decoded:
        kind = obj["kind"]
        gift = None
        if kind == "donation":
            gift, amount = _gift_book(campaign, index, obj)
            raised += amount
            gifts += 1
        elif kind == "reversal":
            raised -= _reversal_book(campaign, index, obj)
            reversals += 1
        log_entries_restore(
            campaign=campaign, entries=[(index, kind, str(obj.get("ref", ""))[:32], gift, body)]
        )
    campaign.refresh_from_db(fields=["goal_reached_at"])
    if gifts and campaign.goal_reached_at is None:
        goal_reached_update(campaign=campaign)
    return RecoveryReport(campaign.slug, size, len(decoded), gifts, reversals, raised)


def _gift_book(campaign: Campaign, index: int, obj: dict[str, Any]) -> tuple[int, int]:
    """Book the gift of donation entry `index` (`obj`, its body); (its id, its amount)."""
    amount, ref = int(obj["amount"]), str(obj.get("ref", ""))
    if not ref:
        raise RecoveryRefused([f"entry {index}: a donation without a public reference"])
    channel = obj.get("channel")
    channel = channel if channel in Channel.values else Channel.BANK_TRANSFER
    at = _at(obj["at"])
    (txn_id,) = transactions_post(
        campaign=campaign,
        items=[
            TransactionInput(
                kind="donation",
                postings=core_ledger.gift_postings(
                    source_account=account_code("clearing", channel),
                    campaign=campaign.slug,
                    amount=Money(amount, obj["currency"]),
                ),
                occurred_at=at,
                memo=f"recovered from log entry {index}",
            )
        ],
    )
    name, memo = str(obj.get("donor", ""))[:120], str(obj.get("memo", ""))[:500]
    (donation_id,) = rows_insert(
        Donation._meta.db_table,
        (
            "campaign_id", "txn_id", "public_ref", "amount_minor", "currency", "received_at",
            "channel", "display_name", "memo_public", "source", "source_ref", "bank_ref",
            "account_id",
        ),
        [
            (
                campaign.pk, txn_id, ref, amount, obj["currency"], db_datetime(at), channel,
                name, memo, RECOVERED_SOURCE, ref, "", None,
            )
        ],
        returning=True,
    )  # fmt: skip
    search_rows_add([(donation_id, search_body(name, memo, ref))])
    totals_apply(campaign=campaign, raised=amount, donations=1)
    return donation_id, amount


def _reversal_book(campaign: Campaign, index: int, obj: dict[str, Any]) -> int:
    ref = str(obj.get("ref", ""))
    gift = Donation.objects.filter(campaign=campaign, public_ref=ref).first()
    if gift is None or Reversal.objects.filter(donation=gift).exists():
        raise RecoveryRefused([f"entry {index}: reverses gift {ref!r}, not booked or reversed"])
    if gift.amount_minor != obj["amount"]:
        raise RecoveryRefused(
            [f"entry {index}: reverses {obj['amount']} of a gift of {gift.amount_minor}"]
        )
    at = _at(obj["at"])
    (txn_id,) = transactions_post(
        campaign=campaign,
        items=[
            TransactionInput(
                kind="reversal",
                postings=reversal_postings(gift),
                occurred_at=at,
                memo=f"recovered from log entry {index}",
                reverses_id=reversed_txn_id(gift),
            )
        ],
    )
    Reversal.objects.create(
        donation=gift,
        txn_id=txn_id,
        source=RECOVERED_SOURCE,
        source_ref=f"reversal:{ref}",
        reversed_at=at,
        reason=str(obj.get("reason", ""))[:200],
    )
    totals_apply(
        campaign=campaign,
        raised=-gift.amount_minor,
        donations=-1,
        reversals=1,
        reversed_minor=gift.amount_minor,
    )
    return gift.amount_minor
