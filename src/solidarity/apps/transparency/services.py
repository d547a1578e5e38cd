"""Appending to a campaign's public log. Called inside the booking transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.tlog.entry import entry_encode
from solidarity.db import db_datetime, rows_insert


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, seconds precision (microseconds when present)."""
    moment = moment.astimezone(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(fmt)


def log_entries_append(
    *, campaign: Campaign, entries: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Queue `(kind, ref, body)` entries for sequencing, in this order; their row ids.

    Must run inside the transaction that books the movements they describe, so an entry
    exists if and only if its booking committed.
    """
    return log_entries_append_encoded(
        campaign=campaign,
        entries=[(kind, ref, entry_encode(body)) for kind, ref, body in entries],
    )


def log_entries_append_encoded(
    *, campaign: Campaign, entries: Iterable[tuple[str, str, bytes]]
) -> list[int]:
    """`log_entries_append` for bodies already made with `entry_encode`."""
    now = db_datetime(timezone.now())
    return rows_insert(
        LogEntry._meta.db_table,
        ("campaign_id", "kind", "ref", "body", "created_at"),
        [(campaign.pk, kind, ref, body, now) for kind, ref, body in entries],
        returning=True,
    )
