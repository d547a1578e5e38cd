"""`solidarity log recover`: book the gifts a restored database is missing from its log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from solidarity.console import CommandError, campaign_arg, django_setup


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
    """Nothing at the top level: the command lives under `solidarity log`."""


def register_log(log: Any) -> None:
    p = log.add_parser("recover", help="book the published entries a restored database is missing")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_log_recover)
