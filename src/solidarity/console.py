"""What every command-line module shares: the refusal it raises, Django's setup, the signal
event daemons wait on, JSON output, and naming a campaign by its slug.

`solidarity.cli` and each app's `cli.py` import from here; none imports another's names.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any


class CommandError(Exception):
    """A refused request: printed to stderr, exit code 2."""


def django_setup() -> None:
    """Configure Django (settings from DJANGO_SETTINGS_MODULE, default ours); safe to repeat."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidarity.web.settings")
    import django

    django.setup()


def stop_event(*signums: int) -> threading.Event:
    """An event set when one of `signums` arrives, for a daemon loop's `stop.wait(...)`.

    The handler sets it from a new thread: a handler runs in the main thread between two
    bytecodes, possibly while that thread holds the event's own lock inside `wait`, and
    setting it there deadlocks the process (it then ignores SIGTERM for ever)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        threading.Thread(target=stop.set, name="stop", daemon=True).start()

    for signum in signums:
        signal.signal(signum, handler)
    return stop


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def campaign_arg(slug: str) -> Any:
    """The campaign named by `slug`; CommandError if there is none. Django must be set up."""
    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.campaigns.selectors import campaign_get

    try:
        return campaign_get(slug=slug)
    except Campaign.DoesNotExist:
        raise CommandError(f"no campaign with slug {slug!r}") from None
