"""`solidarity import FILE...` and `solidarity review list|assign|reject|returns|post-return`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from solidarity.console import CommandError, campaign_arg, django_setup, print_json

logger = logging.getLogger(__name__)


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"--by {username!r}: no such user") from None


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.shown = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, label: str, phase: str, done: int, total: int) -> None:
        if not self.shown:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        what = "reading" if phase == "read" else "booking"
        unit = f"{done:,}/{total:,} rows" if phase == "book" else f"{share:.0%}"
        line = f"\r{label[:28]:<28} {what:<7} [{'#' * filled}{'.' * (30 - filled)}] {unit}"
        print(line, end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _print_report(report: Any) -> None:
    c = report.counts
    head = f"{report.file} ({report.format or '?'}): {report.status}"
    if report.dry_run:
        head += " (dry run: nothing written)"
    print(head)
    for label, value in (
        ("rows read", c.rows_read),
        ("booked", c.booked),
        ("duplicates skipped", c.duplicates),
        ("to review", c.to_review),
        ("reversals", c.reversals),
        ("reversals waiting for their gift", c.reversals_pending),
        ("not gifts (account movements)", c.not_gifts),
        ("rejected", c.rejected),
    ):
        print(f"  {label:<34} {value:>12,}")
    for e in report.errors:
        print(f"  REJECTED {e['file']}:{e['line']}: {e['field']}: {e['message']}")
    for e in report.warnings:
        print(f"  WARNING {e['file']}:{e['line']}: {e['field']}: {e['message']}")


def cmd_import(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.accounts import AccountRef
    from solidarity.apps.imports.services import statements_import
    from solidarity.core.statements import StatementRejected, profile_load

    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
    try:
        account = AccountRef.parse(args.account) if args.account else None
    except ValueError as exc:
        raise CommandError(f"--account: {exc}") from None
    campaign = campaign_arg(args.campaign) if args.campaign else None
    profile = None
    if args.profile:
        try:
            profile = profile_load(args.profile)
        except StatementRejected as exc:
            raise CommandError("; ".join(str(e) for e in exc.errors)) from None
        except OSError as exc:
            raise CommandError(f"--profile {args.profile}: {exc.strerror}") from None
    if args.nice:
        # A batch job yields the CPU to the site people are watching (the web workers, the
        # sequencer, the booker); alone on the machine it runs as fast as ever.
        os.nice(args.nice)
    bar = _Bar()
    try:
        reports = statements_import(
            paths=paths,
            account=account,
            campaign=campaign,
            profile=profile,
            dry_run=args.dry_run,
            progress=bar,
            isolate_parser=True,
        )
    finally:
        bar.end()
    if args.json:
        print_json({"files": [r.as_dict() for r in reports]})
    else:
        for report in reports:
            _print_report(report)
    if any(r.refused for r in reports):
        return 2
    return 1 if any(r.status == "failed" for r in reports) else 0


def cmd_import_jobs_run(args: argparse.Namespace) -> int:
    """Run the statements uploaded in the back office: once, or as the import worker."""
    django_setup()
    from solidarity.apps.imports.jobs import import_jobs_run

    if not args.forever:
        for report in import_jobs_run():
            print(f"import {report.import_id} {report.file}: {report.status}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.is_set():
        ran = []
        try:
            ran = import_jobs_run(limit=1)
        except Exception:
            logger.exception("import worker pass failed; retrying")
        if args.exit_with_parent and os.getppid() != parent:
            break
        if not ran:
            stop.wait(args.interval)
    return 0


def _item(pk: int) -> Any:
    from solidarity.apps.banking.models import ReviewItem

    try:
        return ReviewItem.objects.get(pk=pk)
    except ReviewItem.DoesNotExist:
        raise CommandError(f"no review item {pk}") from None


def cmd_review_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.selectors import review_items

    rows = review_items(status=args.status, campaign_slug=args.campaign, limit=args.limit)
    return _queue_print(
        rows,
        as_json=args.json,
        detail=lambda r: f"[{','.join(r['candidates'])}] {r['reason']}",
        empty="no review items",
    )


def _queue_print(
    rows: list[dict[str, Any]],
    *,
    as_json: bool,
    detail: Callable[[dict[str, Any]], str],
    empty: str,
) -> int:
    """Print queue rows (review items, returned transfers) a line each, or as JSON."""
    if as_json:
        print_json(rows)
        return 0
    for r in rows:
        print(
            f"{r['id']:>7} {r['status']:<8} {r['booked_at'][:10]} {r['account']:<22} "
            f"{r['amount_minor']:>14,} {r['currency']} {detail(r)} | {r['memo'][:60]}"
        )
    if not rows:
        print(empty)
    return 0


def cmd_review_assign(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.review import review_assign

    result = review_assign(
        item=_item(args.id), campaign=campaign_arg(args.campaign), by=_user(args.by)
    )
    print(f"review item {args.id} booked to {args.campaign} as gift {result.public_ref}")
    return 0


def cmd_review_reject(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.review import review_reject

    review_reject(item=_item(args.id), by=_user(args.by), reason=args.reason)
    print(f"review item {args.id} marked not a gift")
    return 0


def cmd_review_returns(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.selectors import pending_returns

    rows = pending_returns(status=args.status, limit=args.limit)
    return _queue_print(
        rows,
        as_json=args.json,
        detail=lambda r: f"returns {r['reverses_ref'] or '?'}",
        empty="no returned transfers",
    )


def cmd_review_post_return(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.models import PendingReversal
    from solidarity.apps.banking.review import pending_reversal_post

    pending = PendingReversal.objects.filter(pk=args.id).first()
    if pending is None:
        raise CommandError(f"no returned transfer {args.id}")
    movement = pending_reversal_post(pending=pending, by=_user(args.by), reason=args.reason)
    print(
        f"returned transfer {args.id} booked as money out (journal transaction {movement.txn_id})"
    )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="import bank statements (camt.05x, MT940, CSV, XLSX), exactly once"
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--account",
        metavar="BANK:NUMBER",
        help="the receiving account the files are for; BANK is a BIN, bank code or SWIFT/BIC",
    )
    p.add_argument("--campaign", metavar="SLUG", help="book every credit to this campaign")
    p.add_argument("--profile", metavar="PROFILE.toml", help="CSV/XLSX layout (PROFILES.md)")
    p.add_argument("--dry-run", action="store_true", help="parse and check, write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--nice",
        type=int,
        default=10,
        metavar="N",
        help="run at this much lower CPU priority than the web server (default 10; 0: same)",
    )
    p.set_defaults(handler=cmd_import)

    jobs = sub.add_parser(
        "import-jobs", help="statements uploaded in the back office"
    ).add_subparsers(dest="action", required=True)
    p = jobs.add_parser("run", help="parse and book the queued uploads (the import worker)")
    p.add_argument("--forever", action="store_true", help="keep running, waiting for uploads")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS")
    p.add_argument("--exit-with-parent", action="store_true")
    p.set_defaults(handler=cmd_import_jobs_run)

    review = sub.add_parser(
        "review", help="credits that matched no campaign or several"
    ).add_subparsers(dest="action", required=True)
    p = review.add_parser("list")
    p.add_argument("--status", default="open", choices=("open", "assigned", "rejected", "all"))
    p.add_argument("--campaign", metavar="SLUG")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_review_list)
    p = review.add_parser("assign", help="book the item as a gift to a campaign")
    p.add_argument("id", type=int)
    p.add_argument("--campaign", required=True, metavar="SLUG")
    p.add_argument("--by", required=True, metavar="USER")
    p.set_defaults(handler=cmd_review_assign)
    p = review.add_parser("reject", help="mark the item as not a gift")
    p.add_argument("id", type=int)
    p.add_argument("--by", required=True, metavar="USER")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=cmd_review_reject)
    p = review.add_parser("returns", help="returned transfers waiting for their gift")
    p.add_argument("--status", default="open", choices=("open", "settled", "all"))
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_review_returns)
    p = review.add_parser(
        "post-return", help="book a returned transfer whose gift is not in these books as money out"
    )
    p.add_argument("id", type=int)
    p.add_argument("--by", required=True, metavar="USER")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=cmd_review_post_return)
