"""Real-time gifts: feeds and their secrets, storing and booking notifications, conflicts.
Reconciliation with statements is `banking.reconciliation`'s rule, applied to the
notifications through `feeds.confirmations`.

Durable first. `notification_store` (or `notification_store_grouped`, which shares one
transaction among concurrent receivers) commits the raw notification (unique per feed and
provider transaction id) before the receiver acknowledges it; `notification_book` books
from that row, in the same request after the store committed, or later from the sweeper
(`notifications_process`). A crash between acknowledging and booking leaves a `stored` row
the sweeper books; a provider's retry of a stored notification is acknowledged again and
books nothing twice (the identity is unique in every outcome table).

On a SQLite file the receivers commit to an inbox of their own (`infra.inbox`), which the
sweeper first moves into the database (`inbox_drain`): SQLite has one writer at a time, and
an acknowledgement must not wait for a booking or an import holding the database's lock.

Bank feeds (SePay, Casso) book through `banking.booking.bank_transactions_book`, the door
statements use, with the identity `feed:<name>:<provider id>`: the same matching rules and
review queue (a transfer the campaign's rule for one gift refuses is held there). Gateway
and partner payments (Standard Webhooks, VNPay, the partner API) name their campaign
(directly or through a donation intent) and book through `donations_record_many` with
`source = feed:<name>` or `partner:<name>`; the rule for one gift never refuses a payment
received (`_gift_book`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets as pysecrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from solidarity import config
from solidarity.apps.banking.accounts import AccountRef, AccountResolver, receiving_accounts_lock
from solidarity.apps.banking.booking import bank_transactions_book
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.banking.reconciliation import StatementSide
from solidarity.apps.banking.report import BookingRefused
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_gift_problem
from solidarity.apps.donations.models import Channel, Donation
from solidarity.apps.donations.services import (
    DonationRefused,
    GiftInput,
    donations_record_many,
)
from solidarity.apps.feeds.confirmations import NOTIFICATIONS
from solidarity.apps.feeds.intents import intent_find
from solidarity.apps.feeds.models import Conflict, Feed, Notification
from solidarity.apps.feeds.providers import BANK_KINDS, transfer_of
from solidarity.core import webhooks
from solidarity.core.statements import BankTransaction
from solidarity.db import db_datetime, objects_insert_new
from solidarity.infra.group_commit import GroupCommit
from solidarity.infra.inbox import Inbox

log = logging.getLogger("solidarity.feeds")

_SAFE_HEADERS = (
    "content-type",
    "user-agent",
    "x-sepay-timestamp",
    "x-sepay-signature",
    "x-casso-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-forwarded-for",
)


class FeedError(ValueError):
    """A refused operator request about feeds."""


def confirm_days() -> int:
    """Days a statement has to confirm a bank-feed gift: the Django setting, else the
    environment variable, SOLIDARITY_FEED_CONFIRM_DAYS (default 3)."""
    value = getattr(settings, "SOLIDARITY_FEED_CONFIRM_DAYS", None)
    return int(value if value is not None else os.environ.get("SOLIDARITY_FEED_CONFIRM_DAYS", "3"))


# --- secrets: files under SOLIDARITY_SECRETS_DIR/feeds/<feed>/<id>, mode 0600 ------------


def _secret_dir(feed_name: str) -> Path:
    folder = config.secrets_dir() / "feeds" / feed_name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _secret_generate(kind: str) -> str:
    if kind == Feed.Kind.STANDARD:
        return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()
    return pysecrets.token_urlsafe(32)


def _secret_write(feed_name: str, value: str) -> str:
    secret_id = timezone.now().strftime("%Y%m%d%H%M%S") + "-" + pysecrets.token_hex(3)
    if not config.private_file_create(_secret_dir(feed_name) / secret_id, value):
        raise FileExistsError(f"secret {secret_id} of feed {feed_name} exists already")
    return secret_id


def feed_secrets(feed: Feed) -> list[str]:
    """The feed's active secret values (newest last); unreadable files are skipped."""
    values = []
    for secret_id in feed.secret_ids:
        try:
            values.append((_secret_dir(feed.name) / secret_id).read_text().strip())
        except OSError:
            log.error("feed %s: secret %s is missing", feed.name, secret_id)
    return [v for v in values if v]


FEED_CACHE_SECONDS = 1.0
"""How long a receiver process reuses a feed's row and secrets: a revoked feed or secret, or
a rotation, takes effect within this long in every process (at once in the one that made it)."""

_feeds_seen: dict[str, tuple[float, Feed, list[str]]] = {}  # name -> (when read, feed, secrets)


def feed_receiving(name: str) -> tuple[Feed, list[str]] | None:
    """The active feed called `name` and its active secrets, or None; read from the database
    and the secret files at most once per FEED_CACHE_SECONDS per process (only feeds that
    exist are kept, so unknown names cannot grow the cache)."""
    now = time.monotonic()
    seen = _feeds_seen.get(name)
    if seen is not None and now - seen[0] < FEED_CACHE_SECONDS:
        return seen[1], seen[2]
    feed = Feed.objects.filter(name=name, active=True).first()
    if feed is None:
        _feeds_seen.pop(name, None)
        return None
    secrets = feed_secrets(feed)
    _feeds_seen[name] = (now, feed, secrets)
    return feed, secrets


def _feeds_forget() -> None:
    _feeds_seen.clear()


def feed_add(
    *, name: str, kind: str, account: str = "", auth: str = "hmac", secret: str = ""
) -> tuple[Feed, str]:
    """Create a feed listening at /hooks/<name>; returns it and its (generated) secret."""
    if kind not in Feed.Kind.values:
        raise FeedError(f"--kind must be one of {', '.join(Feed.Kind.values)}")
    if auth not in ("apikey", "hmac"):
        raise FeedError("--auth must be apikey or hmac")
    if Feed.objects.filter(name=name).exists():
        raise FeedError(f"feed {name!r} exists")
    bin_ = number = ""
    if account:
        try:
            ref = AccountRef.parse(account)
        except ValueError as exc:
            raise FeedError(str(exc)) from None
        bin_, number = ref.bin, ref.number
    secret = secret or _secret_generate(kind)
    if kind == Feed.Kind.STANDARD:
        try:
            webhooks.standard_sign(secret, "probe", 0, b"")
        except Exception:
            raise FeedError("a Standard Webhooks secret is whsec_<base64>") from None
    secret_id = _secret_write(name, secret)
    feed = Feed.objects.create(
        name=name, kind=kind, auth=auth, bin=bin_, number=number, secret_ids=[secret_id]
    )
    _feeds_forget()
    return feed, secret


def feed_rotate(*, feed: Feed, secret: str = "", keep: int = 2) -> tuple[str, str]:
    """Add a new secret; the newest `keep` stay active (the rest are removed).
    Returns (secret id, secret)."""
    secret = secret or _secret_generate(feed.kind)
    secret_id = _secret_write(feed.name, secret)
    ids = [*feed.secret_ids, secret_id]
    for old in ids[:-keep]:
        (_secret_dir(feed.name) / old).unlink(missing_ok=True)
    feed.secret_ids = ids[-keep:]
    feed.save(update_fields=["secret_ids"])
    _feeds_forget()
    return secret_id, secret


def feed_revoke(*, feed: Feed, secret_id: str = "") -> Feed:
    """Retire one secret, or, without `secret_id`, the whole feed (its receiver answers 404)."""
    if secret_id:
        if secret_id not in feed.secret_ids:
            raise FeedError(f"feed {feed.name} has no secret {secret_id}")
        feed.secret_ids = [s for s in feed.secret_ids if s != secret_id]
        (_secret_dir(feed.name) / secret_id).unlink(missing_ok=True)
        feed.save(update_fields=["secret_ids"])
    else:
        feed.active = False
        feed.save(update_fields=["active"])
    _feeds_forget()
    return feed


# --- storing --------------------------------------------------------------------------------


def _headers_kept(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() in _SAFE_HEADERS}


def _notification_new(
    feed: Feed, transfer: webhooks.Transfer, headers: Mapping[str, str], body: str
) -> Notification:
    return Notification(
        feed=feed,
        provider_id=transfer.provider_id,
        received_at=timezone.now(),
        headers=_headers_kept(headers),
        body=body,
        bin=feed.bin,
        number=feed.number or transfer.account[:40],
        amount_minor=transfer.amount_minor,
        currency=transfer.currency,
        occurred_at=transfer.occurred_at,
        bank_ref=transfer.bank_ref,
    )


def notification_store(
    *, feed: Feed, transfer: webhooks.Transfer, headers: Mapping[str, str], body: str
) -> tuple[Notification, bool]:
    """Commit the notification (unique per feed and provider id); (row, created).

    Must be called outside a transaction: when it returns, the row is durable.
    """
    created = _notifications_insert([_notification_new(feed, transfer, headers, body)])[0]
    return Notification.objects.get(feed=feed, provider_id=transfer.provider_id), created


def _notifications_insert(rows: list[Notification]) -> list[bool]:
    """Insert, in one transaction, the rows not stored yet; per row, whether it was new (a
    provider id already stored, by anyone, or earlier in `rows`, is not). A row that is not
    new and reports other terms than the stored one is recorded as a `Conflict` in the
    same transaction (`_conflicts_record`): when this returns, the conflict is durable."""
    with transaction.atomic():
        new = objects_insert_new(rows, unique=("feed", "provider_id"))
        _conflicts_record([row for row, is_new in zip(rows, new, strict=True) if not is_new])
        return new


def _terms(feed: Feed, n: Notification) -> dict[str, Any]:
    """The notification's terms (`webhooks.transfer_terms`), or, for a body that does not
    parse (stored by an older receiver), only its digest: {"body": sha256}."""
    try:
        return webhooks.transfer_terms(transfer_of(feed, n))
    except webhooks.Malformed:
        return {"body": hashlib.sha256(n.body.encode()).hexdigest()}


def _conflicts_record(again: list[Notification]) -> None:
    """For each of `again` (unsaved rows whose feed and provider id are stored): a Conflict
    when its terms differ from the stored row's, once per distinct version. Runs inside the
    caller's transaction."""
    if not again:
        return
    feeds = Feed.objects.in_bulk({n.feed_id for n in again})
    stored = {
        (n.feed_id, n.provider_id): n
        for n in Notification.objects.filter(
            feed_id__in=feeds, provider_id__in={n.provider_id for n in again}
        )
    }
    now = timezone.now()
    conflicts = []
    for n in again:
        first = stored.get((n.feed_id, n.provider_id))
        if first is None or n.body == first.body:
            continue
        feed = feeds[n.feed_id]
        before, after = _terms(feed, first), _terms(feed, n)
        differs = (
            ["body"]
            if "body" in before or "body" in after
            else webhooks.terms_differ(before, after)
        )
        if not differs:
            continue  # the same transfer sent again in other words (spacing, a memo edit)
        log.warning(
            "feed %s: %s received again with another %s; recorded as a conflict, not booked",
            feed.name, n.provider_id, ", ".join(differs),
        )  # fmt: skip
        conflicts.append(
            Conflict(
                source=feed.source,
                provider_id=n.provider_id,
                differs=", ".join(differs)[:120],
                stored=before,
                received=after,
                body=n.body,
                headers=n.headers,
                version=webhooks.terms_version(after),
                notification=first,
                received_at=n.received_at or now,
            )
        )
    objects_insert_new(conflicts, unique=("source", "provider_id", "version"))


_STORE_GROUP: GroupCommit[Notification, bool] = GroupCommit(_notifications_insert, max_batch=500)


def _inbox() -> Inbox | None:
    """The receivers' inbox (`infra.inbox`) when the database is a SQLite file: the file
    `<database>-inbox` beside it. None on PostgreSQL (its row locks let receivers and the
    booker write at once) and for an in-memory database."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    name = str(connection.settings_dict["NAME"])
    inbox = _INBOXES.get(name)
    if inbox is None:
        inbox = _INBOXES[name] = Inbox(Path(name + "-inbox"))
    return inbox


_INBOXES: dict[str, Inbox] = {}  # by database file


def inbox_waiting() -> int:
    """How many acknowledged notifications wait in the receivers' inbox for the booker to
    move them into the database (0 without an inbox)."""
    inbox = _inbox()
    return inbox.count() if inbox is not None else 0


def inbox_oldest() -> datetime | None:
    """When the oldest notification waiting in the receivers' inbox was received (None when
    none waits, or without an inbox)."""
    inbox = _inbox()
    taken = inbox.take(1) if inbox is not None else []
    when = taken[0][2].get("received_at") if taken else None
    return datetime.fromisoformat(when) if when else None


_INBOX_FIELDS = (
    "feed_id", "provider_id", "headers", "body", "bin", "number", "amount_minor", "currency",
    "bank_ref",
)  # fmt: skip
_INBOX_TIMES = ("received_at", "occurred_at")  # ISO 8601 with offset in the record


def _inbox_record(row: Notification) -> tuple[str, dict[str, Any]]:
    """An unsaved notification as the inbox keeps it: (key, JSON object); `_inbox_row` back.

    The key is the feed, the provider id and a digest of the body: a provider's retry (the
    same body) is kept once, while another notification under the same id waits beside the
    first, so that moving it into the database finds the conflict (`_conflicts_record`)."""
    record = {f: getattr(row, f) for f in _INBOX_FIELDS}
    record |= {f: t.isoformat() if (t := getattr(row, f)) else None for f in _INBOX_TIMES}
    body = hashlib.sha256(row.body.encode()).hexdigest()[:32]
    return f"{row.feed_id}:{row.provider_id}:{body}", record


def _inbox_row(record: Mapping[str, Any]) -> Notification:
    times = {f: datetime.fromisoformat(t) if (t := record[f]) else None for f in _INBOX_TIMES}
    return Notification(**{f: record[f] for f in _INBOX_FIELDS}, **times)


def _inbox_put(rows: list[Notification]) -> list[bool]:
    inbox = _inbox()
    assert inbox is not None
    return inbox.put_many([_inbox_record(row) for row in rows])


_INBOX_GROUP: GroupCommit[Notification, bool] = GroupCommit(_inbox_put, max_batch=500)


def notification_store_grouped(
    *, feed: Feed, transfer: webhooks.Transfer, headers: Mapping[str, str], body: str
) -> bool:
    """Commit the notification durably; whether it was new (not already waiting to be
    stored; a provider's retry of one already moved into the database is reported new and
    ignored when `inbox_drain` moves it).

    On a SQLite file it goes to the receivers' inbox (`_inbox`), which `inbox_drain` (the
    booker's first step) moves into the database; elsewhere, into the database directly.
    Concurrent callers in this process share one transaction (`GroupCommit`): under a burst of
    receivers, one lock acquisition and one commit serve all that arrived during the previous
    commit. Must be called outside a transaction: when it returns, the notification is
    durable. Inside one it stores alone (a caller holding the write lock must not wait for
    another thread's commit).
    """
    row = _notification_new(feed, transfer, headers, body)
    inbox = _inbox()
    if inbox is None:
        return (
            _notifications_insert([row])[0]
            if connection.in_atomic_block
            else _STORE_GROUP.submit(row)
        )
    if connection.in_atomic_block:
        return inbox.put_many([_inbox_record(row)])[0]
    return _INBOX_GROUP.submit(row)


INBOX_TAKE = 2000
"""Notifications moved from the inbox into the database per transaction."""


def inbox_drain() -> int:
    """Move what the receivers put in the inbox into the database (`Notification` rows, status
    stored, through `_notifications_insert`), oldest first, INBOX_TAKE per transaction; how
    many were new. A notification already in the database (a provider's retry, or a move
    interrupted between its commit and the inbox's removal) is not stored twice; one with
    other terms is recorded as a conflict. A record the database refuses (a value it cannot
    hold, kept by an older receiver) does not hold up the rest: it is stored failed, with the
    reason, by `_inbox_row_refused`. A database busy or gone (OperationalError) moves
    nothing: the inbox keeps it all for the next pass. Nothing to do without an inbox."""
    inbox = _inbox()
    if inbox is None:
        return 0
    moved = 0
    while taken := inbox.take(INBOX_TAKE):
        records = [record for _, _, record in taken]
        feeds = set(
            Feed.objects.filter(pk__in={r["feed_id"] for r in records}).values_list("pk", flat=True)
        )
        rows = []
        for r in records:
            if r["feed_id"] in feeds:
                rows.append(_inbox_row(r))
            else:
                log.warning("inbox: feed %s is gone; %s dropped", r["feed_id"], r["provider_id"])
        try:
            new = _notifications_insert(rows)
        except OperationalError:
            raise
        except Exception:  # one record the database refuses: each alone
            log.warning("inbox: moving %d together failed; one by one", len(rows))
            new = [_inbox_row_insert(row) for row in rows]
        for row, is_new in zip(rows, new, strict=True):
            if is_new:
                moved += 1
            else:
                log.info("feed %s: %s received again", row.feed_id, row.provider_id)
        inbox.remove([i for i, _, _ in taken])
    return moved


def _inbox_row_insert(row: Notification) -> bool:
    """`_notifications_insert` of one row; a row the database refuses is stored failed
    (`_inbox_row_refused`) instead."""
    try:
        return _notifications_insert([row])[0]
    except OperationalError:
        raise
    except Exception as exc:
        return _inbox_row_refused(row, exc)


def _inbox_row_refused(row: Notification, exc: Exception) -> bool:
    """Store a notification whose values the database cannot hold as failed, its body and
    headers as received, no amount, and the reason; it is never booked (booking it again
    parses the body again and fails). A row refused even so is logged with its body and
    dropped: it cannot be kept anywhere the booker could read it."""
    reason = f"not stored as received: {type(exc).__name__}: {exc}"[:2000]
    log.error("feed %s: notification %s %s", row.feed_id, row.provider_id, reason)
    failed = Notification(
        feed_id=row.feed_id,
        provider_id=row.provider_id,
        received_at=row.received_at,
        headers=row.headers,
        body=row.body,
        bin=row.bin,
        number=row.number[:40],
        currency=row.currency[:3],
        bank_ref=row.bank_ref[:64],
        status=Notification.Status.FAILED,
        attempts=1,
        error=reason,
    )
    try:
        return _notifications_insert([failed])[0]
    except OperationalError:
        raise
    except Exception:
        log.exception("feed %s: dropped %s: %s", row.feed_id, row.provider_id, row.body[:4000])
        return False


# --- booking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    donation_id: int | None = None
    error: str = ""
    confirmed_by: str = ""  # the statement identity that already holds this transfer


BOOK_ATTEMPTS = 5
"""Times the booker tries a notification the database refuses to book with an error that
may pass (OperationalError: busy, timed out, cancelled) before it is marked failed with that
error; a refusal (malformed, no receiving account, refused by the campaign's rules) or any
other error fails it at the first try. Either way the notifications after it are booked."""


def notification_book(*, notification: Notification) -> Notification:
    """Book a stored notification once; records the outcome on the row and returns it.

    Safe to call again and concurrently (a retry, the booker): the booking identity is
    unique, so a second call finds the first one's gift. A database error that may pass
    (OperationalError) counts one attempt and leaves the row stored for the next pass, or
    failed after BOOK_ATTEMPTS (`_attempt_record`); when the database cannot even record
    that (busy or gone), the error is raised and nothing is recorded.
    """
    if notification.status in (
        Notification.Status.BOOKED,
        Notification.Status.CONFIRMED,
        Notification.Status.REVIEW,
    ):
        return notification
    feed = notification.feed
    try:
        if feed.kind in BANK_KINDS:
            _bank_book(feed, notification)  # records its outcome in its own transaction
            notification.refresh_from_db()
            return notification
        outcome = _gift_book(feed, transfer_of(feed, notification))
    except (BookingRefused, DonationRefused, webhooks.Malformed) as exc:
        outcome = Outcome(Notification.Status.FAILED, error=str(exc)[:2000])
    except OperationalError as exc:
        if not _attempt_record(notification, exc):
            raise
        notification.refresh_from_db()
        return notification
    except Exception as exc:
        log.exception("feed %s: booking notification %s failed", feed.name, notification.pk)
        outcome = Outcome(Notification.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
    _outcomes_record(feed, {notification.pk: (notification, outcome)})
    notification.refresh_from_db()
    return notification


def _attempt_record(notification: Notification, exc: OperationalError) -> bool:
    """Count one failed attempt to book a stored notification, with its error; the one
    that makes BOOK_ATTEMPTS marks it failed. False when the database refuses this write too
    (busy or gone: the attempt is not held against the notification)."""
    reason = f"{type(exc).__name__}: {exc}"[:1900]
    last = notification.attempts + 1 >= BOOK_ATTEMPTS
    try:
        with transaction.atomic():
            waiting = Notification.objects.filter(
                pk=notification.pk, status=Notification.Status.STORED
            )
            waiting.update(
                attempts=F("attempts") + 1,
                status=Notification.Status.FAILED if last else Notification.Status.STORED,
                error=f"gave up after {BOOK_ATTEMPTS} attempts: {reason}" if last else reason,
            )
    except OperationalError:
        return False
    log.warning(
        "feed %s: notification %s: attempt %d of %d failed: %s",
        notification.feed.name, notification.pk, notification.attempts + 1, BOOK_ATTEMPTS, reason,
    )  # fmt: skip
    return True


def _outcomes_record(feed: Feed, outcomes: Mapping[int, tuple[Notification, Outcome]]) -> None:
    """Write each notification's outcome on its row: one statement, executed per row, in one
    transaction. A field an outcome does not set keeps its value (booked_at on failure,
    donation and confirmation when there is none)."""
    now = db_datetime(timezone.now())
    params = []
    for pk, (notification, outcome) in outcomes.items():
        failed = outcome.status == Notification.Status.FAILED
        confirmed = outcome.status == Notification.Status.CONFIRMED
        if failed:
            log.warning("feed %s: notification %s not booked: %s", feed.name, pk, outcome.error)
        params.append(
            (
                outcome.status,
                outcome.error,
                notification.attempts + 1,
                None if failed else now,
                outcome.donation_id,
                now if confirmed else None,
                outcome.confirmed_by[:240] if confirmed and outcome.confirmed_by else None,
                pk,
            )
        )
    table = connection.ops.quote_name(Notification._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, error = %s, attempts = %s, "  # noqa: S608 (model meta)
        "booked_at = COALESCE(%s, booked_at), donation_id = COALESCE(%s, donation_id), "
        "confirmed_at = COALESCE(%s, confirmed_at), confirmed_by = COALESCE(%s, confirmed_by) "
        "WHERE id = %s"
    )
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(sql, params)


def notifications_book_many(*, notifications: Sequence[Notification]) -> int:
    """Book stored notifications together; how many ended other than failed or stored.

    The bank-feed ones of each feed go through one `bank_transactions_book` call (a few
    database transactions for hundreds of transfers, instead of one each), so a burst is
    booked at the rate of a statement import. Same outcomes as `notification_book` one by
    one: a batch that fails as a whole (whatever the error) keeps nothing and is booked again
    in halves (`_bank_book_halves`), so one bad notification fails alone (or, with an error
    that may pass, waits for its next attempt) and the others are booked, at the cost of a
    few batches more rather than one transaction per notification.
    """
    by_feed: dict[int, list[Notification]] = {}
    for n in notifications:
        if n.status == Notification.Status.STORED:
            by_feed.setdefault(n.feed_id, []).append(n)
    done = 0
    for rows in by_feed.values():
        feed = rows[0].feed
        if feed.kind in BANK_KINDS:
            outcomes = _bank_book_halves(feed, rows)
        else:
            outcomes = {n.pk: notification_book(notification=n).status for n in rows}
        done += sum(status not in _NOT_DONE for status in outcomes.values())
    return done


def _bank_book_halves(feed: Feed, rows: list[Notification]) -> dict[int, str]:
    """`_bank_book_many`; when it fails, each half again, down to `notification_book` of one
    notification, which records its failure."""
    try:
        return _bank_book_many(feed, rows)
    except Exception as exc:
        if len(rows) == 1:
            return {rows[0].pk: notification_book(notification=rows[0]).status}
        log.warning(
            "feed %s: booking %d together failed (%s: %s); in halves",
            feed.name, len(rows), type(exc).__name__, exc,
        )  # fmt: skip
    middle = len(rows) // 2
    return _bank_book_halves(feed, rows[:middle]) | _bank_book_halves(feed, rows[middle:])


_NOT_DONE = (Notification.Status.FAILED, Notification.Status.STORED)


@transaction.atomic
def _bank_book_many(feed: Feed, rows: list[Notification]) -> dict[int, str]:
    """One transaction: the statement side is looked at and the rest booked under the
    receiving account's lock (`receiving_accounts_lock`, taken by `_bank_prepare_many`), so a
    statement batch of the same account cannot book a transfer between the look and the
    booking. Raises, having written nothing, when any part fails."""
    resolver = _feed_resolver(feed)
    outcomes, to_book = _bank_prepare_many(feed, resolver, rows)
    if to_book:
        bank_transactions_book(
            transactions=[tx for _, tx, _ in to_book], source_kind="feed", resolver=resolver
        )
        outcomes.update(_bank_outcomes(to_book))
    _outcomes_record(feed, {n.pk: (n, outcomes[n.pk]) for n in rows})
    return {pk: outcome.status for pk, outcome in outcomes.items()}


def _bank_tx(feed: Feed, n: Notification, t: webhooks.Transfer) -> BankTransaction:
    return BankTransaction(
        account=t.account or feed.number,
        bin=feed.bin or None,
        currency=t.currency,
        amount_minor=t.amount_minor,
        direction="credit" if t.direction == "credit" else "debit",
        booked_at=t.occurred_at,
        value_date=None,
        bank_ref=t.bank_ref or None,
        memo=t.memo,
        counterparty_name=t.counterparty_name or None,
        counterparty_account=t.counterparty_account or None,
        is_reversal=False,
        reverses_ref=None,
        source_format=feed.kind,
        line=0,
        identity=f"{feed.source}:{n.provider_id}",
    )


def _feed_resolver(feed: Feed) -> AccountResolver:
    account = AccountRef(feed.bin, feed.number) if feed.bin and feed.number else None
    return AccountResolver(account=account)


def _bank_prepare_many(
    feed: Feed, resolver: AccountResolver, rows: Sequence[Notification]
) -> tuple[dict[int, Outcome], list[tuple[int, BankTransaction, str]]]:
    """Per notification, either its outcome when nothing is to book (malformed or no
    receiving account: failed; a credit the statement already booked or holds for review:
    confirmed), or the transaction to book and its gift source. Each statement gift or line
    confirms one notification at most, across the batch too. Must run inside the transaction
    that books the rest: it takes the receiving accounts' lock for it."""
    outcomes: dict[int, Outcome] = {}
    resolved: list[tuple[Notification, BankTransaction, Any]] = []
    for n in rows:
        try:
            tx = _bank_tx(feed, n, transfer_of(feed, n))
        except webhooks.Malformed as exc:
            outcomes[n.pk] = Outcome(Notification.Status.FAILED, error=str(exc)[:2000])
            continue
        target = resolver.resolve(tx)
        if isinstance(target, str):
            outcomes[n.pk] = Outcome(Notification.Status.FAILED, error=target[:2000])
        else:
            resolved.append((n, tx, target))
    # The caller's transaction holds the accounts from here until it has booked.
    receiving_accounts_lock((target.bin, target.number) for _, _, target in resolved)
    feed_credits: dict[tuple[str, str], list[BankTransaction]] = {}
    for _, tx, target in resolved:
        if tx.direction == "credit":
            feed_credits.setdefault((target.bin, target.number), []).append(tx)
    sides = {
        key: StatementSide.fetch(*key, txs, feed=NOTIFICATIONS) for key, txs in feed_credits.items()
    }
    to_book: list[tuple[int, BankTransaction, str]] = []
    for n, tx, target in resolved:
        side = sides.get((target.bin, target.number))
        match = side.confirmation(tx) if side and tx.direction == "credit" else None
        if match is not None:
            outcomes[n.pk] = Outcome(
                Notification.Status.CONFIRMED,
                donation_id=match.donation_id,
                confirmed_by=match.confirmed_by,
            )
        else:
            to_book.append((n.pk, tx, target.source))
    return outcomes, to_book


def _bank_outcomes(booked: list[tuple[int, BankTransaction, str]]) -> dict[int, Outcome]:
    """After `bank_transactions_book`: per notification id, the gift, review item or movement
    its transaction became (two queries for the whole list)."""
    keys = {(source, tx.identity) for _, tx, source in booked}
    refs = [tx.identity for _, tx, _ in booked]
    gifts = {
        (source, ref): pk
        for source, ref, pk in Donation.objects.filter(source_ref__in=refs).values_list(
            "source", "source_ref", "id"
        )
        if (source, ref) in keys
    }
    review = set(ReviewItem.objects.filter(source_ref__in=refs).values_list("source", "source_ref"))
    outcomes = {}
    for pk, tx, source in booked:
        key = (source, tx.identity)
        if key in gifts:
            outcomes[pk] = Outcome(Notification.Status.BOOKED, donation_id=gifts[key])
        elif key in review:
            outcomes[pk] = Outcome(Notification.Status.REVIEW)
        else:
            outcomes[pk] = Outcome(Notification.Status.OTHER)
    return outcomes


@transaction.atomic
def _bank_book(feed: Feed, n: Notification) -> None:
    """As `_bank_book_many` for one notification: look, book and record the outcome in one
    transaction under the account's lock, so a statement batch waiting for that lock finds
    the notification's gift once it gets it."""
    resolver = _feed_resolver(feed)
    outcomes, to_book = _bank_prepare_many(feed, resolver, [n])
    if to_book:
        bank_transactions_book(transactions=[to_book[0][1]], source_kind="feed", resolver=resolver)
        outcomes.update(_bank_outcomes(to_book))
    _outcomes_record(feed, {n.pk: (n, outcomes[n.pk])})


_PRIVACY = ("named", "masked", "anonymous")


def _gift_book(feed: Feed, t: webhooks.Transfer) -> Outcome:
    """Book a gateway or partner payment to the campaign it names (directly or through an
    intent's reference).

    The campaign's rule for one gift (`campaign_gift_problem`) does not refuse it: the donor
    has paid and the gateway holds the money for the campaign, so refusing would leave
    money received out of the books. The gift is booked and the rule it breaks is noted on
    the notification (its `error`, beside the status booked) for the back office."""
    if not t.status_ok:
        return Outcome(Notification.Status.OTHER, error="not a successful payment")
    intent = intent_find(reference=t.order_ref or "")
    if intent is not None:
        campaign = Campaign.objects.get(pk=intent.campaign_id)
    elif t.campaign:
        campaign = Campaign.objects.filter(slug=t.campaign).first()  # type: ignore[assignment]
        if campaign is None:
            raise DonationRefused([f"no campaign {t.campaign!r}"])
    else:
        raise DonationRefused(["the payment names no campaign and no known intent reference"])
    # The intent's privacy choice applies through its reference (the stricter one wins).
    gift = GiftInput(
        amount_minor=t.amount_minor,
        currency=t.currency,
        received_at=t.occurred_at,
        channel=Channel.CARD if feed.kind == Feed.Kind.VNPAY else Channel.WALLET,
        source=feed.source,
        source_ref=t.provider_id,
        donor_name=t.donor_name,
        privacy=t.privacy if t.privacy in _PRIVACY else None,  # type: ignore[arg-type]
        memo=t.memo,
        bank_ref=t.bank_ref,
        privacy_ref=t.order_ref or "",
    )
    (result,) = donations_record_many(campaign=campaign, gifts=[gift])
    note = ""
    if (problem := campaign_gift_problem(campaign, t.amount_minor)) is not None:
        note = f"booked, although {problem}: the payment was received"
        log.warning("feed %s: %s %s", feed.name, t.provider_id, note)
    return Outcome(Notification.Status.BOOKED, donation_id=result.donation_id, error=note)


def notification_replay(*, notification: Notification) -> Notification:
    """Book a failed notification again (the operator fixed its cause)."""
    if notification.status == Notification.Status.FAILED:
        Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.STORED)
        notification.status = Notification.Status.STORED
    return notification_book(notification=notification)


BOOK_BATCH = 500
"""Stored notifications booked together by one pass of the booker."""


def notifications_process(*, limit: int = 10_000, min_age_seconds: float = 0.0) -> int:
    """Book stored notifications (older than `min_age_seconds`), oldest first, in batches of
    BOOK_BATCH; returns how many were booked. The receivers only store and acknowledge: this
    is what books, run by the booker beside `solidarity serve` (or by hand). It first moves
    the receivers' inbox into the database (`inbox_drain`)."""
    inbox_drain()
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    booked = 0
    last = 0
    while limit > 0:
        rows = list(
            Notification.objects.select_related("feed")
            .filter(status=Notification.Status.STORED, received_at__lte=cutoff, pk__gt=last)
            .order_by("id")[: min(limit, BOOK_BATCH)]
        )
        if not rows:
            break
        booked += notifications_book_many(notifications=rows)
        last = rows[-1].pk
        limit -= len(rows)
    return booked


def notifications_flag_unconfirmed(*, days: int | None = None) -> int:
    """Flag bank-feed gifts no statement confirmed within `days` (setting
    SOLIDARITY_FEED_CONFIRM_DAYS): possibly forged; returns how many were flagged."""
    days = confirm_days() if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    return Notification.objects.filter(
        feed__kind__in=BANK_KINDS,
        status=Notification.Status.BOOKED,
        confirmed_at__isnull=True,
        flagged_at__isnull=True,
        occurred_at__lt=cutoff,
    ).update(
        flagged_at=timezone.now(),
        flag_reason=f"no statement confirmed it within {days} days: possibly forged",
    )


def conflict_resolve(*, conflict: Conflict, by: str) -> Conflict:
    """Mark a conflict resolved (an accountant has looked into it and acted through the usual
    doors: a reversal, a manual gift); it stays listed, no longer counted as open."""
    Conflict.objects.filter(pk=conflict.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=by[:150]
    )
    conflict.refresh_from_db()
    return conflict
