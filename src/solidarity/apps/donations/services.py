"""Booking gifts and reversals. Every channel (statement, webhook, API, demo) books here.

Exactly once: (source, source_ref) is unique in the database. A gift already booked is
reported back as not created, even when another process booked it a moment earlier.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from solidarity import config
from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.apps.donations.models import (
    Channel,
    Donation,
    DonationPrivate,
    DonorKey,
    PrivacyReference,
    Reversal,
)
from solidarity.apps.donations.search import (
    search_body,
    search_pending_add,
    search_rows_add,
    search_rows_replace,
)
from solidarity.apps.ledger.services import TransactionInput, totals_apply, transactions_post
from solidarity.apps.transparency.services import log_entries_append, log_entries_append_encoded
from solidarity.core import ledger as core_ledger
from solidarity.core.errors import Refused
from solidarity.core.money import Money
from solidarity.core.privacy import (
    ANONYMOUS,
    PrivacyChoice,
    commitment,
    donor_publish,
    memo_publish,
    privacy_stricter,
    public_ref_derive,
)
from solidarity.core.tlog.bodies import donation_body, reversal_body
from solidarity.core.tlog.entry import entry_encode
from solidarity.db import db_datetime_adapter, rows_insert, values_among


class DonationRefused(Refused):
    """Gifts that cannot be booked; `errors` names each one. Nothing was written."""


@dataclass(frozen=True, slots=True)
class GiftInput:
    """One gift as a channel reports it. Private fields never reach the public."""

    amount_minor: int
    currency: str
    received_at: datetime
    channel: str
    source: str
    source_ref: str
    donor_name: str = ""
    # The channel's own privacy choice; None: the default ("masked") unless a privacy
    # reference the gift carries says otherwise. With both, the stricter wins.
    privacy: PrivacyChoice | None = None
    memo: str = ""
    account: ReceivingAccount | None = None
    sender_account: str = ""
    bank_ref: str = ""
    # A privacy reference the channel carries apart from the memo (a gateway's order id).
    privacy_ref: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What booking one gift did: `created` is False when it was booked before."""

    donation_id: int
    public_ref: str
    created: bool

    @property
    def donation(self) -> Donation:
        return Donation.objects.get(pk=self.donation_id)


@cache
def _secret(name: str) -> bytes:
    return config.secret_file(name).encode()


def _donor_key(gift: GiftInput) -> str | None:
    """A keyed hash of the sender's account, or None when the sender is unknown."""
    if not gift.sender_account.strip():
        return None
    ident = "".join(ch for ch in gift.sender_account if ch.isalnum()).upper()
    mac = _donor_mac().copy()
    mac.update(ident.encode())
    return mac.hexdigest()


@cache
def _donor_mac() -> hmac.HMAC:
    """HMAC-SHA256 keyed with the donor-key secret, fed nothing (copied per donor)."""
    return hmac.new(_secret("donor_key"), digestmod=hashlib.sha256)


_CHANNELS = frozenset(Channel.values)


def gift_errors(campaign: Campaign, gift: GiftInput, where: str) -> list[str]:
    """Every reason `gift` cannot be booked to `campaign`."""
    errors = []
    if type(gift.amount_minor) is not int or gift.amount_minor <= 0:
        errors.append(f"{where}: amount must be a positive whole number of minor units")
    if gift.currency != campaign.currency:
        errors.append(f"{where}: gift in {gift.currency} to a campaign kept in {campaign.currency}")
    if gift.channel not in _CHANNELS:
        errors.append(f"{where}: unknown channel {gift.channel!r}")
    if not gift.source or not gift.source_ref:
        errors.append(f"{where}: source and source_ref are required")
    if gift.received_at.tzinfo is None:
        errors.append(f"{where}: received_at must carry a time zone")
    if gift.account is not None and gift.account.campaign_id != campaign.pk:
        errors.append(f"{where}: account {gift.account} is not one of {campaign.slug}'s")
    return errors


def donation_record(*, campaign: Campaign, gift: GiftInput) -> RecordResult:
    """Book one gift atomically; DonationRefused (nothing written) when it cannot be."""
    return donations_record_many(campaign=campaign, gifts=[gift])[0]


PreparedGifts = dict[tuple[str, str, str], "PreparedGift"]
"""Gifts prepared ahead of booking, by (campaign slug, source, source_ref)."""


def donations_prepare(*, campaign_slug: str, gifts: Sequence[GiftInput]) -> PreparedGifts:
    """The per-gift work of booking (masking, commitment, log entry, search text) for the
    gifts not booked yet, done ahead so a caller that must book inside its own transaction
    does not do it while holding the write lock. Pass the result to
    `donations_record_many(prepared=...)`; a gift that is not booked after all only cost the
    work."""
    booked = _existing(gifts)
    todo = [g for g in gifts if (g.source, g.source_ref) not in booked]
    choices = privacy_references_find(gifts=todo)
    return _by_key(campaign_slug, _prepare_all(campaign_slug, todo, choices))


def donations_prepare_offline(*, campaign_slug: str, gifts: Sequence[GiftInput]) -> PreparedGifts:
    """`donations_prepare` without the database, for a process that has no connection (an
    import's preparing process): gifts that carry a privacy reference are left out (the
    booking prepares them with the choice the reference holds), and gifts booked already
    are prepared too (the booking skips them)."""
    todo = [g for g in gifts if not gift_carries_privacy_ref(g)]
    return _by_key(campaign_slug, _prepare_all(campaign_slug, todo, {}))


def donations_record_many(
    *,
    campaign: Campaign,
    gifts: Sequence[GiftInput],
    prepared: Mapping[tuple[str, str, str], PreparedGift] | None = None,
    deposit: bool = False,
    search_later: bool = False,
) -> list[RecordResult]:
    """Book gifts all or nothing, in order; already-booked ones come back `created=False`.

    With `deposit`, the gifts are lines of deposit transactions (one per source account and
    day, see `_gift_transactions`) instead of one journal transaction each. With
    `search_later`, their search rows are left to `search_index_catch_up` (bulk imports).

    Safe against concurrent bookers of the same gifts: the unique constraint decides and
    the loser re-reads the winner's row. The per-gift work (masking, commitments, log
    entries) happens before the write transaction opens, so parallel bookers overlap it;
    a gift found in `prepared` (from `donations_prepare`, for the same campaign and the
    same input) is not prepared again.
    """
    if campaign.status != Campaign.Status.OPEN:
        raise DonationRefused([f"campaign {campaign.slug} is {campaign.status}, not open"])
    errors = [e for i, g in enumerate(gifts) for e in gift_errors(campaign, g, f"gift {i}")]
    if errors:
        raise DonationRefused(errors)
    # Gifts booked before (a re-run, an overlapping file) are not prepared again; the
    # transaction re-checks, so a concurrent booker between here and there is still safe.
    # Inside the caller's transaction the look-up below is already that re-check.
    in_caller_transaction = connection.in_atomic_block
    seen_before = _existing(gifts)
    ahead = prepared or {}
    ready: list[PreparedGift | None] = []
    missing: list[GiftInput] = []
    for g in gifts:
        if (g.source, g.source_ref) in seen_before:
            continue
        done = ahead.get((campaign.slug, g.source, g.source_ref))
        if done is None or not done.prepared_for(g):
            missing.append(g)
            done = None
        ready.append(done)
    if missing:
        choices = privacy_references_find(gifts=missing)
        fresh = iter(_prepare_all(campaign.slug, missing, choices))
        ready = [p if p is not None else next(fresh) for p in ready]
    if not ready:
        return [RecordResult(*seen_before[(g.source, g.source_ref)], created=False) for g in gifts]
    with transaction.atomic():
        results = iter(
            _record_batch(
                campaign,
                [p for p in ready if p is not None],
                deposit=deposit,
                search_later=search_later,
                existing={} if in_caller_transaction else None,
            )
        )
    return [
        RecordResult(*found, created=False)
        if (found := seen_before.get((g.source, g.source_ref)))
        else next(results)
        for g in gifts
    ]


class PreparedGift(NamedTuple):
    """A gift with everything computed that does not need the database: the values of the
    rows booking it writes. A plain tuple, cheap to send from a preparing process and to
    turn into rows. What the privacy policy lets the public see of it is `public_ref`,
    `amount_minor`, `currency`, `received_at`, `channel` and `display_name` (all in the log
    entry) and `memo_shown` (only on the pages and in search, until erased)."""

    source: str
    source_ref: str
    public_ref: str
    amount_minor: int
    currency: str
    received_at: datetime
    received_db: Any
    """`received_at` as the database takes it (`db_datetime_adapter`)."""
    channel: str
    display_name: str
    memo_shown: str
    donor_name: str
    sender_account: str
    memo: str
    bank_ref: str
    account_id: int | None
    ledger_source: str
    """The ledger account the money came in through (`_source_account`)."""
    privacy: PrivacyChoice | None
    privacy_ref: str
    salt: bytes
    commitment: str
    entry: bytes
    donor_key: str | None

    @property
    def search_text(self) -> str:
        return search_body(self.display_name, self.memo_shown, self.public_ref)

    def prepared_for(self, g: GiftInput) -> bool:
        """Whether this is `g`'s preparation: every value of `g` it was computed from is the
        same (a gift changed since it was prepared is prepared again)."""
        return (
            self.source == g.source
            and self.source_ref == g.source_ref
            and self.amount_minor == g.amount_minor
            and self.currency == g.currency
            and self.received_at == g.received_at
            and self.channel == g.channel
            and self.donor_name == g.donor_name
            and self.sender_account == g.sender_account
            and self.memo == g.memo
            and self.bank_ref == g.bank_ref
            and self.account_id == (g.account.pk if g.account is not None else None)
            and self.privacy == g.privacy
            and self.privacy_ref == g.privacy_ref
        )


# The references a donor's privacy choice is made under: intents (G…) and give-page
# references (P…), ten Crockford base32 characters; found in a memo even run together.
_PRIVACY_REF = re.compile(r"(?=([GP][0-9A-HJKMNP-TV-Z]{9}))")
_REF_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32 letters: no I, L, O or U


def _privacy_refs(g: GiftInput) -> list[str]:
    found = [m[1] for m in _PRIVACY_REF.finditer(g.memo.upper())] if g.memo else []
    if g.privacy_ref:
        found.append(g.privacy_ref.strip().upper())
    return found


def gift_carries_privacy_ref(g: GiftInput) -> bool:
    """Whether `g` carries something that may be a privacy reference (in its memo or as
    `privacy_ref`): its privacy then depends on what the database holds under it."""
    return bool(g.privacy_ref) or (bool(g.memo) and _PRIVACY_REF.search(g.memo.upper()) is not None)


def privacy_references_find(*, gifts: Sequence[GiftInput]) -> dict[str, PrivacyReference]:
    """The privacy references the gifts carry (in their memo or as `privacy_ref`), by
    reference: one query per 900 candidates."""
    candidates = sorted({r for g in gifts for r in _privacy_refs(g)})
    found: dict[str, PrivacyReference] = {}
    for start in range(0, len(candidates), 900):
        for choice in PrivacyReference.objects.filter(
            reference__in=candidates[start : start + 900]
        ):
            found[choice.reference] = choice
    return found


def _reference_new(prefix: str) -> str:
    """`prefix` + 9 random letters (22^9, about 10^12): no digits, because the site's number
    masking joins digit groups near each other (a phone typed in pieces) and must never take
    part of a reference for part of a number written beside it."""
    return prefix + "".join(secrets.choice(_REF_LETTERS) for _ in range(9))


def privacy_reference_create(
    *, privacy: PrivacyChoice, donor_name: str = "", reference: str = "", prefix: str = "P"
) -> PrivacyReference:
    """Record a donor's privacy choice under `reference` (a fresh `prefix`+9 one if empty),
    for the payment to carry. The same reference with another choice is refused."""
    if privacy not in ("named", "masked", "anonymous"):
        raise DonationRefused([f"privacy must be named, masked or anonymous, not {privacy!r}"])
    if reference:
        choice, _ = PrivacyReference.objects.get_or_create(
            reference=reference, defaults={"privacy": privacy, "donor_name": donor_name[:120]}
        )
        if (choice.privacy, choice.donor_name) != (privacy, donor_name[:120]):
            raise DonationRefused([f"reference {reference} already carries another choice"])
        return choice
    for _ in range(5):
        ref = _reference_new(prefix)
        try:
            with transaction.atomic():
                return PrivacyReference.objects.create(
                    reference=ref, privacy=privacy, donor_name=donor_name[:120]
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a privacy reference")


def _privacy_apply(
    g: GiftInput, choices: Mapping[str, PrivacyReference]
) -> tuple[PrivacyChoice, str, list[str]]:
    """(privacy, name to publish, names to hide in the memo) for a gift: the strictest of the
    channel's choice and every privacy reference it carries; a name the donor chose through
    a reference is published in place of the sender's when the result is `named`."""
    privacy: PrivacyChoice | None = g.privacy
    name = g.donor_name
    names = [g.donor_name] if g.donor_name else []
    for ref in _privacy_refs(g):
        if (choice := choices.get(ref)) is None:
            continue
        chosen: PrivacyChoice = choice.privacy  # type: ignore[assignment]
        privacy = chosen if privacy is None else privacy_stricter(privacy, chosen)
        if choice.donor_name:
            name = choice.donor_name
            names.append(choice.donor_name)
    return privacy or "masked", name, names


def _salts(count: int) -> Iterator[bytes]:
    """`count` fresh 16-byte commitment salts (one read of the system's random source)."""
    pool = secrets.token_bytes(16 * count)
    return (pool[i : i + 16] for i in range(0, 16 * count, 16))


def _prepare_all(
    campaign_slug: str, gifts: Sequence[GiftInput], choices: Mapping[str, PrivacyReference]
) -> list[PreparedGift]:
    """`_prepare` for each of `gifts`, in order."""
    salts = _salts(len(gifts))
    db_time = db_datetime_adapter()
    return [_prepare(campaign_slug, g, choices, next(salts), db_time) for g in gifts]


def _by_key(campaign_slug: str, prepared: Iterable[PreparedGift]) -> PreparedGifts:
    return {(campaign_slug, p.source, p.source_ref): p for p in prepared}


def _prepare(
    campaign_slug: str,
    g: GiftInput,
    choices: Mapping[str, PrivacyReference],
    salt: bytes | None = None,
    db_time: Any = None,
) -> PreparedGift:
    """`g` prepared for booking to `campaign_slug`; `salt`: its commitment's (fresh if None)."""
    salt = salt or secrets.token_bytes(16)
    privacy, name, hide = _privacy_apply(g, choices)
    ref = public_ref_derive(_secret("public_ref_key"), g.source, g.source_ref)
    display_name = donor_publish(privacy, name)[:120]
    private = {
        "donor_name": g.donor_name,
        "memo": g.memo,
        "ref": ref,
        "sender_account": g.sender_account,
        "source": g.source,
        "source_ref": g.source_ref,
    }
    digest = commitment(salt, private)
    entry = entry_encode(
        donation_body(
            campaign=campaign_slug,
            amount=g.amount_minor,
            currency=g.currency,
            at=g.received_at,
            channel=g.channel,
            donor=display_name,
            ref=ref,
            commit=digest,
        )
    )
    return PreparedGift(
        g.source,
        g.source_ref,
        ref,
        g.amount_minor,
        g.currency,
        g.received_at,
        (db_time or db_datetime_adapter())(g.received_at),
        g.channel,
        display_name,
        memo_publish(privacy, g.memo, hide, shown_name=name)[:500],
        g.donor_name,
        g.sender_account,
        g.memo,
        g.bank_ref,
        g.account.pk if g.account is not None else None,
        _source_account(g),
        g.privacy,
        g.privacy_ref,
        salt,
        digest,
        entry,
        _donor_key(g),
    )


class _Sourced(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def source_ref(self) -> str: ...


def _existing(gifts: Sequence[_Sourced]) -> dict[tuple[str, str], tuple[int, str]]:
    """`_booked_find` for `GiftInput`s or `PreparedGift`s."""
    return _booked_find([(g.source, g.source_ref) for g in gifts])


def _booked_find(
    pairs: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], tuple[int, str]]:
    """(donation id, public ref) of the gifts booked under the (source, source_ref) pairs
    among `pairs`, a gift recovered from the log included (`RECOVERED_SOURCE`)."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    by_source: dict[str, list[str]] = {}
    for source, source_ref in pairs:
        by_source.setdefault(source, []).append(source_ref)
    with connection.cursor() as cur:
        for source, refs in by_source.items():
            among, value = values_among(refs)
            # Plain SQL: the ORM spent more building these queries than running them.
            sql = f"SELECT source_ref, id, public_ref FROM donations_donation WHERE source = %s AND source_ref {among}"  # noqa: S608, E501 (`among` is ours)
            cur.execute(sql, [source, value])
            for source_ref, pk, public_ref in cur.fetchall():
                found[(source, source_ref)] = (pk, public_ref)
    unknown = [pair for pair in pairs if pair not in found]
    if unknown and Donation.objects.filter(source=RECOVERED_SOURCE).exists():
        found.update(_recovered(unknown))
    return found


RECOVERED_SOURCE = "log-recovered"
"""The `source` of gifts booked from the published log (`recovery.log_recover`); their
`source_ref` is the public reference, which `_existing` derives for the gifts it is asked
about, so a recovered gift is recognised when its statement or notification comes again."""


def _recovered(pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    key = _secret("public_ref_key")
    by_ref = {public_ref_derive(key, source, ref): (source, ref) for source, ref in pairs}
    refs = list(by_ref)
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for start in range(0, len(refs), 900):
        rows = Donation.objects.filter(
            source=RECOVERED_SOURCE, source_ref__in=refs[start : start + 900]
        ).values_list("source_ref", "id")
        for ref, pk in rows:
            found[by_ref[ref]] = (pk, ref)
    return found


def donations_book_prepared(
    *, campaign: Campaign, items: Sequence[PreparedGift], search_later: bool = False
) -> list[RecordResult]:
    """Book gifts prepared for `campaign` (none twice among them) as lines of deposits
    (`_gift_transactions`), inside the caller's transaction; per item, its result.

    For a caller that has checked, in that transaction, the rest of what
    `donations_record_many` checks: the campaign is open and each gift passes `gift_errors`.
    IntegrityError when one of them is booked already (the same source and source_ref, or
    the same public reference, as a gift recovered from the log has): the caller must then
    roll its transaction back (no savepoint is taken here: on SQLite a savepoint copies every
    page the inserts change once more) and book them the way that sorts out which.
    """
    created = _insert(campaign, items, deposit=True, search_later=search_later)
    return [RecordResult(*created[(p.source, p.source_ref)], created=True) for p in items]


def _record_batch(
    campaign: Campaign,
    items: Sequence[PreparedGift],
    *,
    deposit: bool = False,
    search_later: bool = False,
    existing: dict[tuple[str, str], tuple[int, str]] | None = None,
) -> list[RecordResult]:
    """Insert the gifts of `items` not booked yet (`existing`: those found booked earlier in
    the same transaction; looked up when None), one by one when a concurrent booker won
    some of them; per item, its result."""
    if existing is None:
        existing = _existing(items)
    fresh: dict[tuple[str, str], PreparedGift] = {}
    for p in items:
        ident = (p.source, p.source_ref)
        if ident not in existing and ident not in fresh:
            fresh[ident] = p
    created: dict[tuple[str, str], tuple[int, str]] = {}
    if fresh:
        try:
            with transaction.atomic():
                created = _insert(
                    campaign, list(fresh.values()), deposit=deposit, search_later=search_later
                )
        except IntegrityError:
            # Another booker won some of these: book the rest one at a time.
            for p in fresh.values():
                try:
                    with transaction.atomic():
                        created.update(_insert(campaign, [p]))
                except IntegrityError:
                    existing.update(_existing([p]))
    results = []
    seen: set[tuple[str, str]] = set()
    for p in items:
        ident = (p.source, p.source_ref)
        if ident in created and ident not in seen:
            results.append(RecordResult(*created[ident], created=True))
            seen.add(ident)
        else:
            found = existing.get(ident) or created[ident]
            results.append(RecordResult(*found, created=False))
    return results


def _source_account(gift: GiftInput) -> str:
    if gift.account is not None:
        return gift.account.ledger_code
    return f"asset:clearing:{gift.channel}"


_DONATION_COLUMNS = (
    "campaign_id",
    "txn_id",
    "public_ref",
    "amount_minor",
    "currency",
    "received_at",
    "channel",
    "display_name",
    "memo_public",
    "source",
    "source_ref",
    "bank_ref",
    "account_id",
)


def _gift_transactions(
    campaign: Campaign, items: Sequence[PreparedGift], *, deposit: bool
) -> list[int]:
    """Post the journal transactions of `items`; each gift's transaction id, in order.

    Without `deposit`, one "donation" transaction per gift. With it, one "deposit" per
    source account and day (settings.TIME_ZONE, the day the statements report) for the
    sum of its gifts, dated at the latest of them: the gifts are its lines (`ledger check`
    proves they sum to its postings), so daily figures from postings stay exact.
    """
    if not deposit:
        return transactions_post(
            campaign=campaign,
            items=[
                TransactionInput(
                    kind="donation",
                    postings=core_ledger.gift_postings(
                        source_account=p.ledger_source,
                        campaign=campaign.slug,
                        amount=Money(p.amount_minor, p.currency),
                    ),
                    occurred_at=p.received_at,
                )
                for p in items
            ],
        )
    zone = ZoneInfo(settings.TIME_ZONE)
    groups: dict[tuple[str, date], list[PreparedGift]] = {}
    keys = []
    for p in items:
        key = (p.ledger_source, p.received_at.astimezone(zone).date())
        groups.setdefault(key, []).append(p)
        keys.append(key)
    txn_ids = transactions_post(
        campaign=campaign,
        items=[
            TransactionInput(
                kind="deposit",
                postings=core_ledger.gift_postings(
                    source_account=source,
                    campaign=campaign.slug,
                    amount=Money(sum(p.amount_minor for p in gifts), campaign.currency),
                ),
                occurred_at=max(p.received_at for p in gifts),
                memo=f"{len(gifts)} gifts",
            )
            for (source, _), gifts in groups.items()
        ],
    )
    by_key = dict(zip(groups, txn_ids, strict=True))
    return [by_key[key] for key in keys]


def _insert(
    campaign: Campaign,
    items: Sequence[PreparedGift],
    *,
    deposit: bool = False,
    search_later: bool = False,
) -> dict[tuple[str, str], tuple[int, str]]:
    """Insert gifts that are not booked yet. IntegrityError if one was booked meanwhile.

    The hot path of every channel: plain multi-row INSERTs, no ORM objects per gift.
    """
    txn_ids = _gift_transactions(campaign, items, deposit=deposit)
    campaign_id = campaign.pk
    donation_ids = rows_insert(
        Donation._meta.db_table,
        _DONATION_COLUMNS,
        [
            (
                campaign_id,
                txn_id,
                p.public_ref,
                p.amount_minor,
                p.currency,
                p.received_db,
                p.channel,
                p.display_name,
                "",  # memo_public: the shown memo lives in the erasable private record
                p.source,
                p.source_ref,
                p.bank_ref[:64],
                p.account_id,
            )
            for txn_id, p in zip(txn_ids, items, strict=True)
        ],
        returning=True,
    )
    rows_insert(
        DonationPrivate._meta.db_table,
        ("donation_id", "donor_name", "sender_account", "memo", "salt", "commitment", "memo_shown"),
        [
            (
                donation_id,
                p.donor_name[:200],
                p.sender_account[:64],
                p.memo,
                p.salt,
                p.commitment,
                p.memo_shown,
            )
            for donation_id, p in zip(donation_ids, items, strict=True)
        ],
    )
    if not search_later:
        search_rows_add([(d, p.search_text) for d, p in zip(donation_ids, items, strict=True)])
    elif donation_ids:
        search_pending_add(donation_ids)
    new_donors = _donor_keys_add(campaign, [k for p in items if (k := p.donor_key)])
    totals = totals_apply(
        campaign=campaign,
        raised=sum(p.amount_minor for p in items),
        donations=len(items),
        donors=new_donors,
    )
    if campaign.goal_reached_at is None and totals.raised_minor >= campaign.goal_minor:
        goal_reached_update(campaign=campaign)
    log_entries_append_encoded(
        campaign=campaign,
        entries=[("donation", p.public_ref, p.entry) for p in items],
        gifts=donation_ids,
    )
    return {
        (p.source, p.source_ref): (donation_id, p.public_ref)
        for donation_id, p in zip(donation_ids, items, strict=True)
    }


_log = logging.getLogger("solidarity.privacy")


@transaction.atomic
def donation_erase(*, public_ref: str, by: str = "") -> bool:
    """Erase a gift's private record (name, account, raw memo, salt, the shown memo).

    The pages then show the gift as anonymous and without memo, and search finds it by its
    reference only; the books, the totals and the log (which holds none of these) are
    unchanged, so the log still verifies. False when the gift has no private record left.
    Refused (DonationRefused) for an unknown reference. Logged on `solidarity.privacy`.
    """
    gift = Donation.objects.filter(public_ref=public_ref.strip().upper()).first()
    if gift is None:
        raise DonationRefused([f"no gift with reference {public_ref!r}"])
    deleted, _ = DonationPrivate.objects.filter(donation=gift).delete()
    search_rows_replace([(gift.pk, search_body(ANONYMOUS, gift.public_ref))])
    if deleted:
        _log.info("erased the private record of gift %s (by %s)", gift.public_ref, by or "-")
    return bool(deleted)


def _donor_keys_add(campaign: Campaign, donor_keys: Sequence[str]) -> int:
    """Record donor keys not seen before; return how many were new."""
    keys = sorted(set(donor_keys))
    added = 0
    table = DonorKey._meta.db_table
    with connection.cursor() as cur:
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params: list[object] = []
            for k in chunk:
                params.extend((campaign.pk, k))
            cur.execute(
                f"INSERT INTO {table} (campaign_id, key) VALUES {values} "  # noqa: S608 (table from model meta, values bound)
                "ON CONFLICT (campaign_id, key) DO NOTHING",
                params,
            )
            added += max(cur.rowcount, 0)
    return added


def goal_reached_update(*, campaign: Campaign) -> None:
    """Record when the cumulative net amount, in time order, first reached the goal."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT at FROM ("
            " SELECT at, SUM(amount) OVER (ORDER BY at, seq) AS cum FROM ("
            "  SELECT received_at AS at, amount_minor AS amount, id AS seq"
            "  FROM donations_donation WHERE campaign_id = %s"
            "  UNION ALL"
            "  SELECT r.reversed_at, -d.amount_minor, -r.id FROM donations_reversal r"
            "  JOIN donations_donation d ON d.id = r.donation_id WHERE d.campaign_id = %s"
            " ) moves"
            ") running WHERE cum >= %s ORDER BY at LIMIT 1",
            [campaign.pk, campaign.pk, campaign.goal_minor],
        )
        row = cur.fetchone()
    if row is None:
        return
    reached = row[0]
    if isinstance(reached, str):  # SQLite returns UTC text from a raw query
        reached = datetime.fromisoformat(reached)
    if reached.tzinfo is None:
        reached = reached.replace(tzinfo=UTC)
    Campaign.objects.filter(pk=campaign.pk, goal_reached_at__isnull=True).update(
        goal_reached_at=reached
    )
    campaign.refresh_from_db(fields=["goal_reached_at"])


def reversal_postings(donation: Donation) -> tuple[core_ledger.Posting, ...]:
    """The postings that undo `donation`'s booking: its gift postings, each negated."""
    return tuple(
        core_ledger.Posting(p.account, -p.amount)
        for p in core_ledger.gift_postings(
            source_account=(
                donation.account.ledger_code
                if donation.account
                else f"asset:clearing:{donation.channel}"
            ),
            campaign=donation.campaign.slug,
            amount=Money(donation.amount_minor, donation.currency),
        )
    )


def reversed_txn_id(donation: Donation) -> int | None:
    """The journal transaction a reversal of `donation` reverses: the gift's own, or None
    when the gift is one line of a deposit (the reversal then undoes that line only, and the
    `Reversal` row names the gift)."""
    if donation.txn.kind == "deposit":
        return None
    return donation.txn_id


def donation_reverse(
    *,
    donation: Donation,
    source: str,
    source_ref: str,
    reversed_at: datetime,
    reason: str = "",
) -> tuple[Reversal, bool]:
    """Reverse a booked gift once; returns (reversal, created)."""
    found = Reversal.objects.filter(Q(source=source, source_ref=source_ref) | Q(donation=donation))
    if (existing := found.first()) is not None:
        return existing, False
    campaign = donation.campaign
    try:
        with transaction.atomic():
            (txn_id,) = transactions_post(
                campaign=campaign,
                items=[
                    TransactionInput(
                        kind="reversal",
                        postings=reversal_postings(donation),
                        occurred_at=reversed_at,
                        memo=reason,
                        reverses_id=reversed_txn_id(donation),
                    )
                ],
            )
            reversal = Reversal.objects.create(
                donation=donation,
                txn_id=txn_id,
                source=source,
                source_ref=source_ref,
                reversed_at=reversed_at,
                reason=reason[:200],
            )
            totals_apply(
                campaign=campaign,
                raised=-donation.amount_minor,
                donations=-1,
                reversals=1,
                reversed_minor=donation.amount_minor,
            )
            log_entries_append(
                campaign=campaign,
                entries=[
                    (
                        "reversal",
                        donation.public_ref,
                        reversal_body(
                            campaign=campaign.slug,
                            amount=donation.amount_minor,
                            currency=donation.currency,
                            at=reversed_at,
                            channel=donation.channel,
                            ref=donation.public_ref,
                            reason=reason,
                        ),
                    )
                ],
            )
    except IntegrityError:
        return Reversal.objects.get(donation=donation), False
    return reversal, True
