"""`solidarity search index`: make booked gifts searchable (the indexer worker under `serve`)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

from solidarity.cli import _django

logger = logging.getLogger(__name__)


def cmd_search_index(args: argparse.Namespace) -> int:
    """Index every booked gift the search does not find yet: once, or as the indexer.

    The indexer's first pass looks at every gift (what a crash or a restore left behind);
    later passes at the newest ones (`search.WINDOW`), each second."""
    _django()
    from solidarity.apps.donations.search import search_index_catch_up

    full = True
    if not args.forever:
        total = 0
        while n := search_index_catch_up(full=full):
            total += n
        print(f"indexed {total} gifts")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.is_set():
        n = 0
        try:
            n = search_index_catch_up(full=full)
            full = False
        except Exception:
            logger.exception("search indexer pass failed; retrying")
        if args.exit_with_parent and os.getppid() != parent:
            break
        if not n:
            stop.wait(args.interval)
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
