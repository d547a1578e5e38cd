"""Reads of the public statement: search, keyset pages and streams of published gift fields."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.search import TABLE, Word, query_words

Sort = Literal["-time", "time", "-amount", "amount"]
SORTS: Final = ("-time", "time", "-amount", "amount")
PAGE_MAX: Final = 200
# A query whose words match at most this many gifts is answered from the search index;
# above it, matches are dense enough that walking the sort order and testing each row's text
# finds a page sooner than collecting every match.
SPARSE_MAX: Final = 5000
# Only what the privacy policy publishes leaves this module.
PUBLIC_FIELDS: Final = (
    "id",
    "public_ref",
    "amount_minor",
    "currency",
    "received_at",
    "channel",
    "display_name",
    "memo_public",
)
_SORT_FIELD: Final = {"time": "received_at", "amount": "amount_minor"}


class SearchError(ValueError):
    """A statement query that cannot be answered (a bad page cursor)."""


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """What a visitor asked the statement for. Amounts in minor units; `until` is exclusive."""

    q: str = ""
    min_minor: int | None = None
    max_minor: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    ref: str = ""
    sort: Sort = "-time"


@dataclass(frozen=True, slots=True)
class StatementPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _cursor_encode(row: dict[str, Any], sort: Sort) -> str:
    field = _SORT_FIELD[sort.lstrip("-")]
    value = row[field]
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return base64.urlsafe_b64encode(f"{text}|{row['id']}".encode()).decode().rstrip("=")


def _cursor_decode(cursor: str, sort: Sort) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        text, _, pk = raw.rpartition("|")
        if sort.lstrip("-") == "time":
            value: Any = parse_datetime(text)
            if value is None:
                raise ValueError(text)
        else:
            value = int(text)
        return value, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SearchError("the page cursor is not one this statement gave out") from None


def _words_sql(words: list[Word]) -> tuple[str, list[str]]:
    return " AND ".join(["s.body LIKE %s"] * len(words)), [w.like() for w in words]


def _sparse_ids(words: list[Word]) -> list[int] | None:
    """Every gift id matching all `words`, or None when there are more than SPARSE_MAX."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            match = " AND ".join(w.fts_term() for w in words)
            cur.execute(
                f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s",  # noqa: S608 (constant table)
                [match, SPARSE_MAX + 1],
            )
        else:
            where, params = _words_sql(words)
            cur.execute(
                f"SELECT s.donation_id FROM {TABLE} s WHERE {where} LIMIT %s",  # noqa: S608 (constant table, bound values)
                [*params, SPARSE_MAX + 1],
            )
        ids = [row[0] for row in cur.fetchall()]
    return None if len(ids) > SPARSE_MAX else ids


def _filtered(campaign: Campaign, query: StatementQuery) -> QuerySet[Donation]:
    qs = Donation.objects.filter(campaign=campaign)
    if query.min_minor is not None:
        qs = qs.filter(amount_minor__gte=query.min_minor)
    if query.max_minor is not None:
        qs = qs.filter(amount_minor__lte=query.max_minor)
    if query.since is not None:
        qs = qs.filter(received_at__gte=query.since)
    if query.until is not None:
        qs = qs.filter(received_at__lt=query.until)
    if query.ref.strip():
        qs = qs.filter(public_ref=query.ref.strip().upper())
    words = query_words(query.q)
    if words:
        ids = _sparse_ids(words)
        if ids is not None:
            qs = qs.filter(id__in=ids)
        else:
            where, params = _words_sql(words)
            key = "s.rowid" if connection.vendor == "sqlite" else "s.donation_id"
            qs = qs.extra(  # noqa: S610 (constant SQL, bound values)
                where=[
                    f"EXISTS (SELECT 1 FROM {TABLE} s WHERE {key} = donations_donation.id "  # noqa: S608 (constant SQL, bound values)
                    f"AND {where})"
                ],
                params=params,
            )
    return qs


def donation_search(
    *, campaign: Campaign, query: StatementQuery, cursor: str | None = None, limit: int = 50
) -> StatementPage:
    """One page of the public statement in `query.sort` order, after `cursor` (keyset).

    Cost grows with the page size, not with the page number or the number of gifts.
    """
    limit = max(1, min(limit, PAGE_MAX))
    descending = query.sort.startswith("-")
    field = _SORT_FIELD[query.sort.lstrip("-")]
    qs = _filtered(campaign, query)
    if cursor:
        value, pk = _cursor_decode(cursor, query.sort)
        op = "lt" if descending else "gt"
        qs = qs.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))
    order = (f"-{field}", "-id") if descending else (field, "id")
    rows = list(qs.order_by(*order).values(*PUBLIC_FIELDS)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return StatementPage(rows, _cursor_encode(rows[-1], query.sort) if more and rows else None)


def donation_stream(
    *, campaign: Campaign, query: StatementQuery, chunk: int = PAGE_MAX
) -> Iterator[dict[str, Any]]:
    """Every gift matching `query`, page by page, in constant memory (for exports)."""
    cursor: str | None = None
    while True:
        page = donation_search(campaign=campaign, query=query, cursor=cursor, limit=chunk)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
