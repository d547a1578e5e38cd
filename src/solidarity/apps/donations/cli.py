"""Gift commands: `solidarity search index` (make booked gifts searchable; the indexer worker
under `serve`) and `solidarity log recover` (book the gifts a restored database is missing
from its log)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from solidarity.console import CommandError, campaign_arg, django_setup

logger = logging.getLogger(__name__)
RESCAN_SECONDS = 30.0
"""The indexer scans its window at least this often even when no booking moved the mark
(a gift written by a path that does not maintain the campaign totals)."""


def cmd_search_index(args: argparse.Namespace) -> int:
    """Index every booked gift the search does not find yet: once, or as the indexer.

    The indexer's first pass looks at every gift (what a crash or a restore left behind);
    later passes from where the last one stopped (`search.SearchIndexer`), each second, when
    a gift was booked since the last pass (`search_books_mark`) or RESCAN_SECONDS have
    passed."""
    django_setup()
    from django.utils import timezone

    from solidarity.apps.donations.search import (
        SearchIndexer,
        search_books_mark,
        search_changes_prune,
        search_index_catch_up,
    )

    # Its first pass looks at every gift (what a crash or a restore left behind); each
    # later one from where the last stopped, so a long backlog costs its length, once.
    indexer = SearchIndexer()
    if not args.forever:
        total = search_index_catch_up(indexer=indexer)
        while not indexer.caught_up:
            total += search_index_catch_up(indexer=indexer)
        print(f"indexed {total} gifts")
        return 0
    full = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    pruned = time.monotonic()
    mark: tuple[int, int] | None = None
    scanned = 0.0
    while not stop.is_set():
        n, failed = 0, False
        try:
            # An idle pass reads two keys instead of scanning the window (20,000 gifts).
            now_mark = search_books_mark()
            if full or now_mark != mark or time.monotonic() > scanned + RESCAN_SECONDS:
                n = search_index_catch_up(indexer=indexer)
                scanned = time.monotonic()
                # Not caught up (a full batch, or gifts further on): look again at once.
                mark = now_mark if indexer.caught_up else None
            if full or time.monotonic() > pruned + 600:
                search_changes_prune(timezone.now())
                pruned = time.monotonic()
            full = False
        except Exception:
            logger.exception("search indexer pass failed; retrying")
            failed = True
        if args.exit_with_parent and os.getppid() != parent:
            break
        if failed or (not n and indexer.caught_up):
            stop.wait(args.interval)
    return 0


def cmd_log_recover(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.donations.recovery import RecoveryRefused, log_recover
    from solidarity.apps.transparency.logfiles import LogKeyError
    from solidarity.apps.transparency.sequencer import SequencerError

    campaign = campaign_arg(args.slug)
    try:
        report = log_recover(campaign=campaign)
    except RecoveryRefused as e:
        for error in e.errors:
            print(f"solidarity: {error}", file=sys.stderr)
        return 2
    except (SequencerError, LogKeyError) as e:
        raise CommandError(str(e)) from None
    if not report.entries:
        print(f"log {report.slug}: the database holds every published entry ({report.size:,})")
        return 0
    print(
        f"log {report.slug}: recovered {report.entries:,} entries of {report.size:,} "
        f"({report.gifts:,} gifts, {report.reversals:,} reversals, "
        f"{report.raised_minor:+,} raised), marked as recovered"
    )
    return 0


def register(sub: Any) -> None:
    search = sub.add_parser("search", help="the public search index").add_subparsers(
        dest="action", required=True
    )
    p = search.add_parser("index", help="index booked gifts not searchable yet (the indexer)")
    p.add_argument("--forever", action="store_true", help="keep running, indexing new gifts")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS")
    p.add_argument("--exit-with-parent", action="store_true")
    p.set_defaults(handler=cmd_search_index)


def register_log(log: Any) -> None:
    p = log.add_parser("recover", help="book the published entries a restored database is missing")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_log_recover)
