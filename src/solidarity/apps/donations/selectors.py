"""Reads of the public statement: search, keyset pages and streams of published gift fields."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

from django.db import connection
from django.utils.dateparse import parse_datetime
from pyroaring import BitMap

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation, DonationPrivate
from solidarity.apps.donations.postings import postings_match
from solidarity.apps.donations.search import TABLE, Word, query_words
from solidarity.db import db_datetime_read, values_among

Sort = Literal["-time", "time", "-amount", "amount"]
SORTS: Final = ("-time", "time", "-amount", "amount")
PAGE_MAX: Final = 200
# How a page is found (donation_search): first by walking the sort order over at most
# WALK_BUDGET gifts and testing each against the other filters, which ends every query that
# matches densely; otherwise from the most selective other filter, a range on the other
# column when it holds at most RANGE_MAX gifts, else the word index. Either way a page costs
# a bounded number of rows, whatever the number of gifts.
WALK_BUDGET: Final = 3000
# The count (donation_count) walks the newest gifts further: a read stops at COUNT_CAP + 1
# matches, so a word on one gift in twenty is counted without the word index.
COUNT_WALK: Final = 20_000
# Words on at most IDS_MAX of a campaign's gifts are answered from their postings in memory
# (postings.py): every match read by primary key and sorted in one query. Denser words are
# answered by the walk, which finds a page of them within WALK_BUDGET gifts.
IDS_MAX: Final = 20_000
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
    among, value = values_among([r["id"] for r in rows])
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT donation_id, memo_shown FROM {DonationPrivate._meta.db_table} "  # noqa: S608 (constant SQL, bound values)
            f"WHERE donation_id {among}",
            [value],
        )
        shown = dict(cur.fetchall())
    for r in rows:
        memo = shown.get(r["id"])
        r["memo_public"] = memo or ""
        if memo is None:
            r["display_name"] = ERASED_NAME
    return rows


_SORT_FIELD: Final = {"time": "received_at", "amount": "amount_minor"}
# A cursor's id and amount are bound as 64-bit integers.
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1


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
    # The bank's own transaction code (what the donor's bank app shows), matched exactly.
    bank: str = ""


@dataclass(frozen=True, slots=True)
class StatementPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None = None
    # Every match counted on the way, when donation_search was asked to (`count_cap`) and
    # its read saw them all anyway; else None (donation_count answers).
    count: StatementCount | None = None


@dataclass(frozen=True, slots=True)
class StatementCount:
    """How many gifts match and their sum. When more than the cap match, `exact` is False,
    `count` is the cap and `sum_minor` is None: counting further would cost without bound."""

    count: int
    sum_minor: int | None
    exact: bool


COUNT_CAP: Final = 1000
# A search box holding one code-like word: a public reference or a bank transaction code.
_CODE = re.compile(r"^[A-Za-z0-9]{6,64}$")
_FLIP: Final[dict[str, Sort]] = {
    "-time": "time",
    "time": "-time",
    "-amount": "amount",
    "amount": "-amount",
}


def statement_query_read(
    *, campaign: Campaign, query: StatementQuery, amount: int | None
) -> tuple[StatementQuery, str]:
    """The query with its search box read as what the visitor most likely typed, and how it
    was read: "ref" (a public reference of this campaign), "bank" (a bank transaction code
    of one of its gifts), "amount" (`amount`, the box parsed as an amount, when given), or
    "words" (names, memo words). Cost: at most two lookups on unique or selective indexes.
    """
    text = query.q.strip()
    if not text or query.ref or query.bank:
        return query, "words"
    if _CODE.match(text):
        code = text.upper()
        if _first(_Sel.of(campaign).where("d.public_ref = %s", code), "1"):
            return replace(query, q="", ref=code), "ref"
        # The bank_ref index (imports 0002) serves this; a code is stored as the bank gave it.
        found = _first(_Sel.of(campaign).where("d.bank_ref IN (%s, %s)", text, code), "d.bank_ref")
        if found:
            return replace(query, q="", bank=found[0]), "bank"
    if amount is not None:
        low = max(amount, query.min_minor or 0)
        high = amount if query.max_minor is None else min(amount, query.max_minor)
        return replace(query, q="", min_minor=low, max_minor=high), "amount"
    return query, "words"


@dataclass(frozen=True, slots=True)
class _Sel:
    """A read of one campaign's gifts: `donations_donation AS d` under the conditions in
    `conds` (SQL with %s placeholders) and their bound values `params`, in order.

    The statement's reads are written here as SQL rather than through querysets: a search
    runs up to five of them, and building each through the ORM cost more than running it.
    """

    conds: tuple[str, ...]
    params: tuple[Any, ...]

    @classmethod
    def of(cls, campaign: Campaign) -> _Sel:
        return cls(("d.campaign_id = %s",), (campaign.pk,))

    def where(self, cond: str, *params: Any) -> _Sel:
        return _Sel((*self.conds, cond), (*self.params, *params))

    def sql(
        self,
        columns: str,
        order: tuple[str, ...] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[str, list[Any]]:
        sql = f"SELECT {columns} FROM donations_donation d WHERE {' AND '.join(self.conds)}"  # noqa: S608 (constant SQL, bound values)
        if order:
            sql += " ORDER BY " + ", ".join(order)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        return sql, list(self.params)


def _first(sel: _Sel, columns: str) -> tuple[Any, ...] | None:
    sql, params = sel.sql(columns, limit=1)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()  # type: ignore[no-any-return]


def _value(field: str, value: Any) -> Any:
    """A bound value for `field` as the ORM would bind it (SQLite: a time as naive UTC text)."""
    if field == "received_at" and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _order(sort: Sort) -> tuple[str, ...]:
    field = _SORT_FIELD[sort.lstrip("-")]
    way = " DESC" if sort.startswith("-") else ""
    return (f"d.{field}{way}", f"d.id{way}")


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
            if value is None or value.tzinfo is None:
                raise ValueError(text)
            value = value.astimezone(UTC)  # OverflowError for a time no column can hold
        else:
            value = int(text)
        if not (
            _INT_MIN <= int(pk) <= _INT_MAX
            and (isinstance(value, datetime) or _INT_MIN <= value <= _INT_MAX)
        ):
            raise ValueError(raw)
        return value, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise SearchError("the page cursor is not one this statement gave out") from None


def _after(sel: _Sel, sort: Sort, value: Any, pk: int, *, inclusive: bool = False) -> _Sel:
    """`sel` limited to the gifts after (value, pk) in `sort` order (from it, `inclusive`).
    The first, redundant bound lets the (campaign, field, id) index start or stop there."""
    field = _SORT_FIELD[sort.lstrip("-")]
    op = "<" if sort.startswith("-") else ">"
    bound = _value(field, value)
    return sel.where(
        f"d.{field} {op}= %s AND (d.{field} {op} %s OR (d.{field} = %s AND d.id {op}"
        f"{'=' if inclusive else ''} %s))",
        bound,
        bound,
        bound,
        pk,
    )


def _words_each(sel: _Sel, words: list[Word]) -> _Sel:
    """sel limited to gifts whose indexed text has every word, tested row by row (sel itself
    when there are no words)."""
    if not words:
        return sel
    if connection.vendor == "sqlite":
        # FTS5's own content table (sqlite.org/fts5.html, shadow tables: `%_content`, the
        # rowid as `id`, the column as `c0`): a plain rowid read, several times cheaper per
        # gift than a rowid read through the virtual table.
        table, key, body = f"{TABLE}_content", "s.id", "s.c0"
    else:
        table, key, body = TABLE, "s.donation_id", "s.body"
    where = " AND ".join([f"{body} LIKE %s"] * len(words))
    return sel.where(
        f"EXISTS (SELECT 1 FROM {table} s WHERE {key} = d.id AND {where})",  # noqa: S608 (constant SQL, bound values)
        *(w.like() for w in words),
    )


def _words_indexed(sel: _Sel, words: list[Word]) -> _Sel:
    """sel limited to gifts whose indexed text has every word, found through the index."""
    if connection.vendor == "sqlite":
        match = " AND ".join(w.fts_term() for w in words)
        return sel.where(f"d.id IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s)", match)  # noqa: S608 (constant table)
    # The GIN index on to_tsvector('simple', body) (migration 0004); words are [0-9a-z]+.
    terms = " & ".join(w.ts_term() for w in words)
    return sel.where(
        f"d.id IN (SELECT donation_id FROM {TABLE} "  # noqa: S608 (constant table, bound value)
        "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', %s))",
        terms,
    )


def _keyed(sel: _Sel, ids: BitMap, sort: Sort, limit: int | None = None) -> list[tuple[int, int]]:
    """(id, amount) of the gifts of `sel` among `ids` in `sort` order, the first `limit` when
    given: one query that reads each id by primary key and sorts them, so its cost is the
    number of ids."""
    among, value = values_among(ids)
    sql, params = sel.where(f"d.id {among}", value).sql("d.id, d.amount_minor", _order(sort), limit)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [(int(pk), int(amount)) for pk, amount in cur.fetchall()]


_PUBLIC_COLUMNS: Final = ", ".join(f"d.{name}" for name in PUBLIC_FIELDS)


def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """PUBLIC_FIELDS of the rows `sql` reads (selecting _PUBLIC_COLUMNS), times as the ORM
    gives them."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        found = cur.fetchall()
    at = PUBLIC_FIELDS.index("received_at")
    rows = []
    for values in found:
        row = dict(zip(PUBLIC_FIELDS, values, strict=True))
        row["received_at"] = db_datetime_read(values[at])
        rows.append(row)
    return rows


def _public_rows(ids: list[int]) -> list[dict[str, Any]]:
    """PUBLIC_FIELDS of the gifts `ids`, in that order."""
    among, value = values_among(ids)
    by_id = {
        row["id"]: row
        for row in _rows(
            f"SELECT {_PUBLIC_COLUMNS} FROM donations_donation d WHERE d.id {among}",  # noqa: S608 (constant SQL, bound values)
            [value],
        )
    }
    return [by_id[pk] for pk in ids]


def _top(limit: int, count_cap: int | None) -> int | None:
    """How many keyed rows a page needs: limit + 1 (the extra one says more follow), or all
    of them when they are also counted."""
    return limit + 1 if count_cap is None else None


def _counted(keyed: list[tuple[int, int]], cap: int) -> StatementCount:
    if len(keyed) > cap:
        return StatementCount(cap, None, exact=False)
    return StatementCount(len(keyed), sum(amount for _pk, amount in keyed), exact=True)


def _range(
    sel: _Sel, field: str, low: Any, high: Any, *, high_inclusive: bool, walked: bool = False
) -> _Sel:
    """sel limited to `field` in [low, high] (or [low, high)). `walked`: tested row by row on
    a walk of another index (the column hidden from the planner: an indexed range there could
    lead it to read every gift in the range and sort them, every gift of one common amount)."""
    column = f"COALESCE(d.{field}, d.{field})" if walked else f"d.{field}"
    if low is not None:
        sel = sel.where(f"{column} >= %s", _value(field, low))
    if high is not None:
        sel = sel.where(f"{column} <{'=' if high_inclusive else ''} %s", _value(field, high))
    return sel


def _bank_ids(campaign: Campaign, bank: str) -> list[int]:
    """The gifts of `campaign` with this bank transaction code, through the bank_ref index."""
    sql, params = _Sel.of(campaign).where("d.bank_ref = %s", bank).sql("d.id", limit=PAGE_MAX)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [int(pk) for (pk,) in cur.fetchall()]


def _among(sel: _Sel, ids: list[int]) -> _Sel:
    among, value = values_among(ids)
    return sel.where(f"d.id {among}", value)


def donation_search(
    *,
    campaign: Campaign,
    query: StatementQuery,
    cursor: str | None = None,
    limit: int = 50,
    before: str | None = None,
    count_cap: int | None = None,
) -> StatementPage:
    """One page of the public statement in `query.sort` order, after `cursor` (keyset), or
    the page that ends just before `before` (the previous page).

    Cost grows with the page size, not with the page number or the number of gifts: see
    WALK_BUDGET for how the rows are found.
    """
    if before:
        back = donation_search(
            campaign=campaign,
            query=replace(query, sort=_FLIP[query.sort]),
            cursor=before,
            limit=limit,
        )
        rows = back.rows[::-1]
        return StatementPage(
            rows,
            _cursor_encode(rows[-1], query.sort) if rows else None,
            _cursor_encode(rows[0], query.sort) if rows and back.next_cursor else None,
        )
    page = _search(
        campaign=campaign,
        query=query,
        cursor=cursor,
        limit=limit,
        count_cap=None if cursor else count_cap,
    )
    if cursor and page.rows:
        return replace(page, prev_cursor=_cursor_encode(page.rows[0], query.sort))
    return page


def _search(
    *,
    campaign: Campaign,
    query: StatementQuery,
    cursor: str | None,
    limit: int,
    count_cap: int | None = None,
) -> StatementPage:
    limit = max(1, min(limit, PAGE_MAX))
    by_time = query.sort.lstrip("-") == "time"
    order = _order(query.sort)
    time_range = (query.since, query.until)
    amount_range = (query.min_minor, query.max_minor)

    # Given: the gifts in sort order, with the filters the sort column's index serves.
    ordered = _Sel.of(campaign)
    if by_time:
        ordered = _range(ordered, "received_at", *time_range, high_inclusive=False)
    else:
        ordered = _range(ordered, "amount_minor", *amount_range, high_inclusive=True)
    if cursor:
        ordered = _after(ordered, query.sort, *_cursor_decode(cursor, query.sort))
    other_field, other = ("amount_minor", amount_range) if by_time else ("received_at", time_range)
    has_other = other != (None, None)
    words = query_words(query.q)
    ref = query.ref.strip().upper()

    def others(sel: _Sel, *, with_range: bool = True, walked: bool = False) -> _Sel:
        if with_range and has_other:
            sel = _range(sel, other_field, *other, high_inclusive=by_time, walked=walked)
        if ref:
            sel = sel.where("d.public_ref = %s", ref)
        if query.bank:
            sel = _among(sel, _bank_ids(campaign, query.bank))
        return sel

    def page(sel: _Sel, n: int = limit + 1) -> list[dict[str, Any]]:
        return _rows(*sel.sql(_PUBLIC_COLUMNS, order, n))

    # When: nothing filters beyond the sort column's index, or a reference names the gift.
    if ref or query.bank or not (has_other or words):
        return _page_end(page(_words_each(others(ordered), words)), limit, query.sort)
    # When: the words are on at most IDS_MAX of the campaign's gifts, their postings hold
    # every match: each read by id, sorted here, the page's fields read for the page alone.
    if words:
        matched = postings_match(campaign.pk, words)
        ids = matched.ids
        # The walk reads about (limit + 1) * gifts / matches gifts to fill a page, each tested
        # against the words (about twice a read by id): it wins for words on many gifts.
        if len(ids) <= IDS_MAX and len(ids) ** 2 <= 2 * (limit + 1) * matched.gifts:
            # Without a count to give, only the page's rows leave the database.
            keyed = _keyed(others(ordered), ids, query.sort, _top(limit, count_cap))
            shown = _public_rows([pk for pk, _amount in keyed[: limit + 1]])
            end = _page_end(shown, limit, query.sort)
            if count_cap is None:
                return end
            return replace(end, count=_counted(keyed, count_cap))
    # When: the filters match densely, a bounded walk of the sort order finds the page.
    if WALK_BUDGET > 0:
        walk = _walked(ordered, query.sort, WALK_BUDGET)
        rows = page(_words_each(others(walk or ordered, walked=True), words))
        if len(rows) > limit or walk is None:
            return _page_end(rows, limit, query.sort)
    # Then, sparse: the most selective other filter finds every candidate.
    in_range = _range(_Sel.of(campaign), other_field, *other, high_inclusive=by_time)
    in_range_ids: list[int] = []
    if has_other:
        sql, params = in_range.sql("d.id", limit=RANGE_MAX + 1)
        with connection.cursor() as cur:
            cur.execute(sql, params)
            in_range_ids = [int(pk) for (pk,) in cur.fetchall()]
    if has_other and len(in_range_ids) <= RANGE_MAX and not words:
        # Every candidate is known (read through the other column's index): each read by id
        # and sorted in one query, as for postings; a sort-order walk testing `id IN (range)`
        # read about gifts / candidates entries per match (18 ms for a rare amount at 2M).
        keyed = _keyed(
            others(ordered, with_range=False),
            BitMap(in_range_ids),
            query.sort,
            _top(limit, count_cap),
        )
        end = _page_end(_public_rows([pk for pk, _amount in keyed[: limit + 1]]), limit, query.sort)
        return end if count_cap is None else replace(end, count=_counted(keyed, count_cap))
    if has_other and len(in_range_ids) <= RANGE_MAX:
        found = _words_each(others(_among(ordered, in_range_ids), with_range=False), words)
    elif words:
        found = _words_indexed(others(ordered), words)
    else:
        found = others(ordered)
    end = _page_end(page(found), limit, query.sort)
    if count_cap is None:
        return end
    # Asked for the count on a first page: every match is in `found`, so the same read,
    # in no order (any count_cap + 1 matches say "more"), summed in the database, counts them.
    return replace(end, count=_bounded(found, count_cap))


def donation_count(
    *, campaign: Campaign, query: StatementQuery, cap: int = COUNT_CAP
) -> StatementCount:
    """How many gifts match `query` and their sum, exact up to `cap` matches.

    Cost is bounded by `cap`, not by the number of gifts: words that match densely are
    counted on a walk of the newest gifts (WALK_BUDGET, then COUNT_WALK when the first walk
    says the longer one will pass `cap`), each walk read lazily and stopped at `cap` + 1
    matches; rarer words through the word index, ranges on their index.
    """
    sel = _range(_Sel.of(campaign), "received_at", query.since, query.until, high_inclusive=False)
    sel = _range(sel, "amount_minor", query.min_minor, query.max_minor, high_inclusive=True)
    ref = query.ref.strip().upper()
    if ref:
        sel = sel.where("d.public_ref = %s", ref)
    if query.bank:
        sel = _among(sel, _bank_ids(campaign, query.bank))
    words = query_words(query.q)
    if words and not (ref or query.bank):
        ids = postings_match(campaign.pk, words).ids
        ranged = (query.since, query.until, query.min_minor, query.max_minor)
        if len(ids) > cap and ranged == (None, None, None, None):
            return StatementCount(cap, None, exact=False)
        if len(ids) <= IDS_MAX:
            return _counted(_keyed(sel, ids, "-time", cap + 1), cap)
        timed = _range(
            _Sel.of(campaign), "received_at", query.since, query.until, high_inclusive=False
        )
        # The newest WALK_BUDGET gifts first; when they hold enough matches that COUNT_WALK
        # gifts should hold more than `cap`, the newest COUNT_WALK; else the word index.
        # On the walk the amounts are tested row by row (see _search's `others`).
        for budget in sorted({b for b in (WALK_BUDGET, COUNT_WALK) if b > 0}):
            walk = _walked(timed, "-time", budget)
            amounts = _range(
                walk or timed,
                "amount_minor",
                query.min_minor,
                query.max_minor,
                high_inclusive=True,
                walked=True,
            )
            walked = _bounded(_words_each(amounts, words), cap, _order("-time"))
            if not walked.exact or walk is None:
                return walked
            if walked.count * COUNT_WALK <= cap * budget:
                break  # too sparse for the longer walk to pass the cap
        return _bounded_indexed(sel, words, cap)
    sel = _words_each(sel, words)
    has_time = query.since is not None or query.until is not None
    has_amount = query.min_minor is not None or query.max_minor is not None
    order: tuple[str, ...] = ()  # a reference, a bank code, both ranges: the planner's choice
    if has_time and not (has_amount or ref or query.bank):
        order = _order("-time")
    elif has_amount and not (has_time or ref or query.bank):
        order = _order("-amount")
    return _bounded(sel, cap, order)


def _walked(sel: _Sel, sort: Sort, budget: int) -> _Sel | None:
    """`sel` kept to its first `budget` gifts in `sort` order, or None when it holds fewer
    (the walk then sees every gift). One read of `budget` index entries.

    A walk so bounded is read lazily in sort order through the (campaign, field, id) index
    and stops at its LIMIT, so a dense match costs the rows up to its last match."""
    field = _SORT_FIELD[sort.lstrip("-")]
    sql, params = sel.sql(f"d.{field}, d.id", _order(sort), limit=1, offset=budget - 1)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        last = cur.fetchone()
    if last is None:
        return None
    value = db_datetime_read(last[0]) if field == "received_at" else last[0]
    flipped = _FLIP[sort]
    return _after(sel, flipped, value, int(last[1]), inclusive=True)


def _bounded_indexed(sel: _Sel, words: list[Word], cap: int) -> StatementCount:
    """Count and sum at most cap + 1 gifts of sel having every word, found through the index.

    On SQLite the FTS5 match drives the read (CROSS JOIN keeps it the outer loop), so the read
    stops after cap + 1 matches instead of collecting every match first."""
    if connection.vendor != "sqlite":
        return _bounded(_words_indexed(sel, words), cap)
    match = " AND ".join(w.fts_term() for w in words)
    inner = (
        f"SELECT d.amount_minor AS a FROM {TABLE} CROSS JOIN donations_donation d "  # noqa: S608 (constant SQL, bound values)
        f"ON d.id = {TABLE}.rowid WHERE {TABLE} MATCH %s AND {' AND '.join(sel.conds)} LIMIT %s"
    )
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*), COALESCE(SUM(t.a), 0) FROM ({inner}) t",  # noqa: S608 (constant SQL, bound values)
            [match, *sel.params, cap + 1],
        )
        count, total = cur.fetchone()
    if count > cap:
        return StatementCount(cap, None, exact=False)
    return StatementCount(int(count), int(total), exact=True)


def _bounded(sel: _Sel, cap: int, order: tuple[str, ...] = ()) -> StatementCount:
    """Count and sum at most cap + 1 rows of sel, read in `order` when given.

    An order that a (campaign, field, id) index serves keeps the read on that index: without
    it PostgreSQL may scan the table for a range it believes spread evenly (one busy day)."""
    sql, params = sel.sql("d.amount_minor", order, cap + 1)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*), COALESCE(SUM(t.amount_minor), 0) FROM ({sql}) t",  # noqa: S608 (constant SQL, bound values)
            params,
        )
        count, total = cur.fetchone()
    if count > cap:
        return StatementCount(cap, None, exact=False)
    return StatementCount(int(count), int(total), exact=True)


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


def donation_id_by_ref(ref: str) -> int | None:
    """The id of the gift whose public reference is `ref` (as written), None when none is.
    Receipts find a gift's log entry through it (`log_gift_finder_register`)."""
    return Donation.objects.filter(public_ref=ref).values_list("id", flat=True).first()
