"""Appending to a campaign's public log. Called inside the booking transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.tlog.entry import entry_encode


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, seconds precision (microseconds when present)."""
    moment = moment.astimezone(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(fmt)


def log_entries_append(
    *, campaign: Campaign, entries: Iterable[tuple[str, str, dict[str, Any]]]
) -> Sequence[LogEntry]:
    """Queue `(kind, ref, body)` entries for sequencing, in this order.

    Must run inside the transaction that books the movements they describe, so an entry
    exists if and only if its booking committed.
    """
    rows = [
        LogEntry(campaign=campaign, kind=kind, ref=ref, body=entry_encode(body))
        for kind, ref, body in entries
    ]
    return LogEntry.objects.bulk_create(rows, batch_size=2000)
