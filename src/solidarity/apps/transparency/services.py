"""Appending to a campaign's public log. Called inside the booking transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.models import LogEntry, LogHead
from solidarity.core.tlog.entry import entry_encode
from solidarity.db import db_datetime, rows_insert


def log_entries_append(
    *, campaign: Campaign, entries: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Append `(kind, ref, body)` entries to the campaign's log, in this order; their row ids.

    Must run inside the transaction that books the movements they describe, so an entry
    exists if and only if its booking committed. It takes the log head's row lock, held until
    commit, which gives indexes in commit order: call it as the transaction's last write that
    could wait for another transaction (after `totals_apply` and any insert that a concurrent
    booking could collide with), so two bookings never wait for each other in a cycle.
    """
    return log_entries_append_encoded(
        campaign=campaign,
        entries=[(kind, ref, entry_encode(body)) for kind, ref, body in entries],
    )


def log_entries_append_encoded(
    *,
    campaign: Campaign,
    entries: Iterable[tuple[str, str, bytes]],
    gifts: Sequence[int] | None = None,
) -> list[int]:
    """`log_entries_append` for bodies already made with `entry_encode`. `gifts`: for
    "donation" entries, the id of each one's gift (`LogEntry.gift`), in the same order."""
    rows = list(entries)
    if not rows:
        return []
    if gifts is not None and len(gifts) != len(rows):
        raise ValueError(f"{len(rows)} entries but {len(gifts)} gifts")
    first = log_head_advance(campaign, len(rows))
    now = db_datetime(timezone.now())
    return rows_insert(
        LogEntry._meta.db_table,
        ("campaign_id", "kind", "ref", "gift", "body", "index", "created_at"),
        [
            (campaign.pk, kind, ref, gifts[i] if gifts else None, body, first + i, now)
            for i, (kind, ref, body) in enumerate(rows)
        ],
        returning=True,
    )


_HEAD_ADVANCE_SQL = "UPDATE {table} SET size = size + %s WHERE campaign_id = %s RETURNING size"
_HEAD_CREATE_SQL = "INSERT INTO {table} (campaign_id, size) VALUES (%s, 0) ON CONFLICT DO NOTHING"


def log_head_advance(campaign: Campaign, count: int) -> int:
    """Reserve `count` indexes of the campaign's log; the first. Locks the head until commit."""
    table = connection.ops.quote_name(LogHead._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(_HEAD_ADVANCE_SQL.format(table=table), [count, campaign.pk])
        row = cur.fetchone()
        if row is None:  # the campaign's first entry
            cur.execute(_HEAD_CREATE_SQL.format(table=table), [campaign.pk])
            cur.execute(_HEAD_ADVANCE_SQL.format(table=table), [count, campaign.pk])
            row = cur.fetchone()
    assert row is not None
    return int(row[0]) - count


def log_entries_restore(
    *, campaign: Campaign, entries: Iterable[tuple[int, str, str, int | None, bytes]]
) -> None:
    """Write `(index, kind, ref, gift, body)` entries at indexes the log already published
    (`gift`: a "donation" entry's gift id, else None).

    For `log recover` only: each index must be below the log's head (raised with
    `log_head_reserve`) and hold no entry yet, and each body must be the published entry's
    exact bytes; the unique (campaign, index) constraint refuses a second entry at an index.
    Must run inside the transaction that books what the entries describe.
    """
    now = db_datetime(timezone.now())
    rows_insert(
        LogEntry._meta.db_table,
        ("campaign_id", "kind", "ref", "gift", "body", "index", "created_at"),
        [
            (campaign.pk, kind, ref, gift, body, index, now)
            for index, kind, ref, gift, body in entries
        ],
    )
