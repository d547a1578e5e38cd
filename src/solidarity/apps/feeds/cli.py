"""`solidarity feeds …` and `solidarity notifications …`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import time
from typing import Any

from solidarity.console import CommandError, django_setup, print_json, stop_event

log = logging.getLogger("solidarity.feeds")


def _feed(name: str) -> Any:
    from solidarity.apps.feeds.models import Feed

    try:
        return Feed.objects.get(name=name)
    except Feed.DoesNotExist:
        raise CommandError(f"no feed {name!r}") from None


def _refused(exc: Exception) -> CommandError:
    return CommandError(str(exc))


def cmd_feeds_add(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.feeds.services import FeedError, feed_add

    try:
        feed, secret = feed_add(
            name=args.name,
            kind=args.kind,
            account=args.account or "",
            auth=args.auth,
            secret=args.secret or "",
        )
    except FeedError as exc:
        raise _refused(exc) from None
    print(f"feed {feed.name} ({feed.kind}) listens at /hooks/{feed.name}")
    if not args.secret:
        print(f"secret (shown once): {secret}")
    return 0


def _feed_dict(feed: Any) -> dict[str, Any]:
    return {
        "name": feed.name,
        "kind": feed.kind,
        "auth": feed.auth if feed.kind == "sepay" else "",
        "account": f"{feed.bin}:{feed.number}" if feed.number else "",
        "secrets": feed.secret_ids,
        "active": feed.active,
        "url": f"/hooks/{feed.name}",
    }


def cmd_feeds_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.feeds.selectors import feeds_list

    rows = [_feed_dict(f) for f in feeds_list()]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        state = "active" if r["active"] else "revoked"
        secrets = ", ".join(r["secrets"])
        print(f"{r['name']:<20} {r['kind']:<9} {r['account'] or '-':<26} {state:<8} {secrets}")
    return 0


def cmd_feeds_rotate(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.feeds.services import feed_rotate

    secret_id, secret = feed_rotate(feed=_feed(args.name), secret=args.secret or "", keep=args.keep)
    print(f"new secret {secret_id} active beside the previous {args.keep - 1}")
    if not args.secret:
        print(f"secret (shown once): {secret}")
    return 0


def cmd_feeds_revoke(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.feeds.services import FeedError, feed_revoke

    try:
        feed_revoke(feed=_feed(args.name), secret_id=args.secret_id or "")
    except FeedError as exc:
        raise _refused(exc) from None
    print(f"revoked secret {args.secret_id}" if args.secret_id else f"feed {args.name} revoked")
    return 0


def _conflicts_list(args: argparse.Namespace) -> int:
    from solidarity.apps.feeds.selectors import conflicts_list

    rows = [
        {
            "id": c.pk,
            "source": c.source,
            "provider_id": c.provider_id,
            "differs": c.differs,
            "stored": c.stored,
            "received": c.received,
            "notification": c.notification_id,
            "gift": c.donation.public_ref if c.donation else None,
            "received_at": c.received_at.isoformat(),
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "resolved_by": c.resolved_by,
        }
        for c in conflicts_list(limit=args.limit)
    ]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        state = f"resolved by {r['resolved_by']}" if r["resolved_at"] else "OPEN"
        stored = " ".join(f"{k}={v}" for k, v in r["stored"].items())
        received = " ".join(f"{k}={v}" for k, v in r["received"].items())
        print(f"{r['id']:>6} {r['source']:<20} {r['provider_id']:<24} {r['differs']:<24} {state}")
        print(f"{'':>6} stored:   {stored}")
        print(f"{'':>6} received: {received}")
    return 0


def cmd_notifications_list(args: argparse.Namespace) -> int:
    django_setup()
    if args.status == "conflict":
        return _conflicts_list(args)
    from solidarity.apps.feeds.selectors import notifications_health, notifications_list

    rows = [
        {
            "id": n.pk,
            "feed": n.feed.name,
            "provider_id": n.provider_id,
            "status": n.status,
            "amount": n.amount_minor,
            "currency": n.currency,
            "bank_ref": n.bank_ref,
            "received_at": n.received_at.isoformat(),
            "gift": n.donation.public_ref if n.donation else None,
            "confirmed_by": n.confirmed_by,
            "flagged": n.flagged_at is not None and n.confirmed_at is None,
            "error": n.error,
        }
        for n in notifications_list(status=args.status, limit=args.limit)
    ]
    if args.json:
        print_json(rows)
        return 0
    health = notifications_health()
    if health.waiting:
        print(f"{health.waiting} acknowledged, waiting for the booker")
    if health.conflicts:
        print(f"{health.conflicts} open conflicts: solidarity notifications list --status conflict")
    for r in rows:
        flag = " UNCONFIRMED" if r["flagged"] else ""
        print(
            f"{r['id']:>8} {r['feed']:<16} {r['provider_id']:<24} {r['status']:<9} "
            f"{r['amount']:>14,} {r['currency']} {r['gift'] or '-'}{flag} {r['error'][:60]}"
        )
    return 0


def _process_once(days: int | None, *, flag: bool = True) -> tuple[int, int]:
    from solidarity.apps.feeds.services import notifications_flag_unconfirmed, notifications_process

    booked = notifications_process()
    return booked, notifications_flag_unconfirmed(days=days) if flag else 0


FLAG_EVERY = 60.0
"""Seconds between two searches for unconfirmed feed gifts in the daemon (a matter of days)."""


def cmd_notifications_process(args: argparse.Namespace) -> int:
    """Book what was stored and not booked; flag unconfirmed gifts. Once, or as a daemon."""
    django_setup()
    if not args.forever:
        booked, flagged = _process_once(args.days)
        print(f"booked {booked}, flagged {flagged} unconfirmed")
        return 0
    from solidarity.apps.workers.leases import LeaseKeeper
    from solidarity.apps.workers.services import heartbeat_start

    stop = stop_event(signal.SIGTERM)
    parent = os.getppid()
    heartbeat_start("booker")
    # One booker at a time across every node: passes run only under the "booker" lease.
    role = LeaseKeeper("booker").start()
    try:
        _process_forever(args, stop, parent, role)
    finally:
        role.stop()
    return 0


def _process_forever(args: argparse.Namespace, stop: Any, parent: int, role: Any) -> None:
    flagged_at = 0.0
    while not stop.is_set():
        booked = 0
        if not role.held:
            if args.exit_with_parent and os.getppid() != parent:
                break
            stop.wait(min(args.interval, 1.0))
            continue
        try:
            flag = time.monotonic() - flagged_at >= FLAG_EVERY
            booked, _ = _process_once(args.days, flag=flag)
            if flag:
                flagged_at = time.monotonic()
        except Exception:
            log.exception("notifications sweeper pass failed; retrying")
        if args.exit_with_parent and os.getppid() != parent:
            break
        if not booked:  # after a pass that booked, more has likely arrived meanwhile
            stop.wait(args.interval)


def cmd_notifications_resolve(args: argparse.Namespace) -> int:
    """Mark a conflict resolved (it stays listed, no longer counted as open)."""
    django_setup()
    import getpass

    from solidarity.apps.feeds.models import Conflict
    from solidarity.apps.feeds.services import conflict_resolve

    try:
        conflict = Conflict.objects.get(pk=args.id)
    except Conflict.DoesNotExist:
        raise CommandError(f"no conflict {args.id}") from None
    conflict = conflict_resolve(conflict=conflict, by=args.by or getpass.getuser())
    print(f"conflict {conflict.pk} resolved by {conflict.resolved_by}")
    return 0


def cmd_notifications_flag(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.feeds.services import notifications_flag_unconfirmed

    print(f"flagged {notifications_flag_unconfirmed(days=args.days)} unconfirmed")
    return 0


def register(subparsers: Any) -> None:
    feeds = subparsers.add_parser(
        "feeds", help="bank-feed and gateway webhook sources"
    ).add_subparsers(dest="action", required=True)
    p = feeds.add_parser("add", help="a source listening at /hooks/NAME")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=["sepay", "casso", "standard", "vnpay"])
    p.add_argument(
        "--account", help="BANK:NUMBER of the receiving account (BIN, bank code or SWIFT/BIC)"
    )
    p.add_argument("--auth", default="hmac", choices=["apikey", "hmac"], help="SePay only")
    p.add_argument("--secret", help="the provider's secret; generated and printed once if omitted")
    p.set_defaults(handler=cmd_feeds_add)
    p = feeds.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_feeds_list)
    p = feeds.add_parser("rotate", help="add a secret; the previous stays valid (--keep)")
    p.add_argument("name")
    p.add_argument("--secret")
    p.add_argument("--keep", type=int, default=2, help="secrets kept active (default 2)")
    p.set_defaults(handler=cmd_feeds_rotate)
    p = feeds.add_parser("revoke", help="retire one secret, or the whole feed")
    p.add_argument("name")
    p.add_argument("--secret-id")
    p.set_defaults(handler=cmd_feeds_revoke)

    notes = subparsers.add_parser("notifications", help="the notification log").add_subparsers(
        dest="action", required=True
    )
    p = notes.add_parser("list")
    p.add_argument(
        "--status",
        choices=[
            "stored", "booked", "review", "confirmed", "other", "failed", "flagged", "conflict"
        ],
        help="conflict: ids received again with another amount, currency, account or campaign",
    )  # fmt: skip
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_notifications_list)
    p = notes.add_parser("process", help="book stored notifications; flag unconfirmed gifts")
    p.add_argument("--forever", action="store_true")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--days", type=int, default=None)
    p.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_notifications_process)
    p = notes.add_parser("resolve-conflict", help="mark a conflict resolved")
    p.add_argument("id", type=int)
    p.add_argument("--by", help="who resolved it (default: the system user)")
    p.set_defaults(handler=cmd_notifications_resolve)
    p = notes.add_parser("flag-unconfirmed", help="flag feed gifts no statement confirmed")
    p.add_argument("--days", type=int, default=None, help="default SOLIDARITY_FEED_CONFIRM_DAYS")
    p.set_defaults(handler=cmd_notifications_flag)
