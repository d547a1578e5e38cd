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
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_datetime

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation, DonationPrivate
from solidarity.apps.donations.search import TABLE, Word, query_words

Sort = Literal["-time", "time", "-amount", "amount"]
SORTS: Final = ("-time", "time", "-amount", "amount")
PAGE_MAX: Final = 200
# How a page is found (donation_search): first by walking the sort order over at most
# WALK_BUDGET gifts and testing each against the other filters, which ends every query that
# matches densely; otherwise from the most selective other filter, a range on the other
# column when it holds at most RANGE_MAX gifts, else the word index. Either way a page costs
# a bounded number of rows, whatever the number of gifts.
WALK_BUDGET: Final = 3000
RANGE_MAX: Final = 20_000
# Only what the privacy policy publishes leaves this module: these fields, and `memo_public`
# added by gifts_shown (the shown memo from the erasable private record).
PUBLIC_FIELDS: Final = (
    "id",
    "public_ref",
    "amount_minor",
    "currency",
    "received_at",
    "channel",
    "display_name",
)
ERASED_NAME: Final = "anonymous"


def gifts_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of PUBLIC_FIELDS completed as the pages show them, in one query: `memo_public`
    is the gift's shown memo; an erased gift (no private record) shows no memo and the
    name `anonymous`."""
    if not rows:
        return rows
    shown = dict(
        DonationPrivate.objects.filter(donation_id__in=[r["id"] for r in rows]).values_list(
            "donation_id", "memo_shown"
        )
    )
    for r in rows:
        memo = shown.get(r["id"])
        r["memo_public"] = memo or ""
        if memo is None:
            r["display_name"] = ERASED_NAME
    return rows


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


def _words_each(qs: QuerySet[Donation], words: list[Word]) -> QuerySet[Donation]:
    """qs limited to gifts whose indexed text has every word, tested row by row (qs itself
    when there are no words)."""
    if not words:
        return qs
    where, params = _words_sql(words)
    key = "s.rowid" if connection.vendor == "sqlite" else "s.donation_id"
    return qs.extra(  # noqa: S610 (constant SQL, bound values)
        where=[
            f"EXISTS (SELECT 1 FROM {TABLE} s WHERE {key} = donations_donation.id "  # noqa: S608 (constant SQL, bound values)
            f"AND {where})"
        ],
        params=params,
    )


def _words_indexed(qs: QuerySet[Donation], words: list[Word]) -> QuerySet[Donation]:
    """qs limited to gifts whose indexed text has every word, found through the index."""
    if connection.vendor == "sqlite":
        match = " AND ".join(w.fts_term() for w in words)
        found = RawSQL(f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", [match])  # noqa: S608, S611 (constant table)
    else:
        # The GIN index on to_tsvector('simple', body) (migration 0004); words are [0-9a-z]+.
        terms = " & ".join(w.ts_term() for w in words)
        found = RawSQL(  # noqa: S611 (constant SQL, bound value)
            f"SELECT donation_id FROM {TABLE} "  # noqa: S608 (constant table, bound value)
            "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', %s)",
            [terms],
        )
    return qs.filter(id__in=found)


def _range(
    qs: QuerySet[Donation], field: str, low: Any, high: Any, *, high_inclusive: bool
) -> QuerySet[Donation]:
    if low is not None:
        qs = qs.filter(**{f"{field}__gte": low})
    if high is not None:
        qs = qs.filter(**{f"{field}__lte" if high_inclusive else f"{field}__lt": high})
    return qs


def donation_search(
    *, campaign: Campaign, query: StatementQuery, cursor: str | None = None, limit: int = 50
) -> StatementPage:
    """One page of the public statement in `query.sort` order, after `cursor` (keyset).

    Cost grows with the page size, not with the page number or the number of gifts: see
    WALK_BUDGET for how the rows are found.
    """
    limit = max(1, min(limit, PAGE_MAX))
    descending = query.sort.startswith("-")
    by_time = query.sort.lstrip("-") == "time"
    field = _SORT_FIELD[query.sort.lstrip("-")]
    order = (f"-{field}", "-id") if descending else (field, "id")
    time_range = (query.since, query.until)
    amount_range = (query.min_minor, query.max_minor)

    # Given: the gifts in sort order, with the filters the sort column's index serves.
    ordered = Donation.objects.filter(campaign=campaign)
    if by_time:
        ordered = _range(ordered, "received_at", *time_range, high_inclusive=False)
    else:
        ordered = _range(ordered, "amount_minor", *amount_range, high_inclusive=True)
    if cursor:
        value, pk = _cursor_decode(cursor, query.sort)
        op, op_eq = ("lt", "lte") if descending else ("gt", "gte")
        # The first, redundant bound lets the (campaign, field, id) index start at the cursor.
        ordered = ordered.filter(
            Q(**{f"{field}__{op_eq}": value}),
            Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}),
        )
    other_field, other = ("amount_minor", amount_range) if by_time else ("received_at", time_range)
    has_other = other != (None, None)
    words = query_words(query.q)
    ref = query.ref.strip().upper()

    def others(qs: QuerySet[Donation], *, with_range: bool = True) -> QuerySet[Donation]:
        if with_range and has_other:
            qs = _range(qs, other_field, *other, high_inclusive=by_time)
        if ref:
            qs = qs.filter(public_ref=ref)
        return qs

    def page(qs: QuerySet[Donation]) -> list[dict[str, Any]]:
        return list(qs.order_by(*order).values(*PUBLIC_FIELDS)[: limit + 1])

    # When: nothing filters beyond the sort column's index, or a reference names the gift.
    if ref or not (has_other or words):
        return _page_end(page(_words_each(others(ordered), words)), limit, query.sort)
    # When: the filters match densely, a bounded walk of the sort order finds the page. A word
    # with a digit (a reference, an account tail) is rare: it goes to the index at once.
    if not any(ch.isdigit() for w in words for ch in w.text):
        window = ordered.order_by(*order).values("id")[:WALK_BUDGET]
        walked = others(Donation.objects.filter(id__in=window))
        rows = page(_words_each(walked, words))
        if len(rows) > limit or ordered.values("id")[:WALK_BUDGET].count() < WALK_BUDGET:
            return _page_end(rows, limit, query.sort)
    # Then, sparse: the most selective other filter finds every candidate.
    in_range = _range(
        Donation.objects.filter(campaign=campaign), other_field, *other, high_inclusive=by_time
    )
    if has_other and in_range.values("id")[: RANGE_MAX + 1].count() <= RANGE_MAX:
        found = others(ordered.filter(id__in=in_range.values("id")), with_range=False)
        rows = page(_words_each(found, words))
    elif words:
        rows = page(_words_indexed(others(ordered), words))
    else:
        rows = page(others(ordered))
    return _page_end(rows, limit, query.sort)


def _page_end(rows: list[dict[str, Any]], limit: int, sort: Sort) -> StatementPage:
    """The page of `limit` rows, and a cursor when the extra row fetched says more follow."""
    more = len(rows) > limit
    rows = gifts_shown(rows[:limit])
    return StatementPage(rows, _cursor_encode(rows[-1], sort) if more and rows else None)


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
