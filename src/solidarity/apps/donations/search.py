"""The public statement's search index: one row per gift, published fields only.

Each row holds the folded text (casefolded, no diacritics, đ→d, split into ASCII letters and
digits) of the gift's display name, shown memo (DonationPrivate.memo_shown) and public
reference, so "nguyen van a" finds "NGUYỄN VĂN A"; an erased gift, its reference only.
Nothing private (sender account, raw memo, unmasked name) ever enters.

Storage depends on the database (migration 0002_search):
- SQLite: an FTS5 table `donations_search(body)` whose rowid is the donation's id.
- PostgreSQL: a table `donations_search(donation_id, body)` with a GIN index on
  `to_tsvector('simple', body)` (migration 0004; its lexemes are exactly the folded words).
Rows are written by `search_rows_add` inside the booking transaction (one gift, a feed's,
the give page's: searchable exactly when booked), or, for statement imports, after it by
`search_index_catch_up` (the indexer worker under `serve`, `solidarity search index`), within
seconds of the commit; `search_backlog` measures how far behind it is (/readyz, `solidarity
status`, /metrics). Every write also appends a SearchChange row, which keeps the in-memory
word postings of `postings.py` exact.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from solidarity.core.matching import text_fold
from solidarity.core.privacy import ANONYMOUS
from solidarity.db import db_datetime, db_datetime_read, rows_insert

TABLE = "donations_search"
CHANGES = "donations_searchchange"  # SearchChange's table
# The last word of a query, if at least this long, matches as a word prefix (the visitor may
# still be typing it); every other word matches whole words only.
PREFIX_MIN = 3
_WORD = re.compile(r"[0-9a-z]+")


def search_body(*parts: str) -> str:
    """The indexed text: folded words separated by single spaces, with a space at each end."""
    words = _WORD.findall(text_fold(" ".join(parts)))
    return f" {' '.join(words)} "


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    prefix: bool

    def like(self) -> str:
        """A LIKE pattern over a search body that matches this word as `fts_term` does."""
        return f"% {self.text}%" if self.prefix else f"% {self.text} %"

    def fts_term(self) -> str:
        """The word in an SQLite FTS5 MATCH expression."""
        return f'"{self.text}"*' if self.prefix else f'"{self.text}"'

    def ts_term(self) -> str:
        """The word in a PostgreSQL to_tsquery('simple', ...) expression."""
        return f"{self.text}:*" if self.prefix else self.text


def query_words(query: str) -> list[Word]:
    """The words of a search box query, folded like the indexed text; duplicates dropped.

    Whole words, but the last one is a prefix when it has PREFIX_MIN letters or more. Whole
    words also keep the index fast: a prefix of a common name merges many long lists.
    """
    words = list(dict.fromkeys(_WORD.findall(text_fold(query))))[:8]
    return [Word(w, i == len(words) - 1 and len(w) >= PREFIX_MIN) for i, w in enumerate(words)]


def search_rows_add(rows: Sequence[tuple[int, str]]) -> None:
    """Index gifts `(donation_id, search_body(display_name, memo_shown, public_ref))`.

    Must run in the transaction that books them; the bodies are folded before it opens.
    """
    if not rows:
        return
    column = "rowid" if connection.vendor == "sqlite" else "donation_id"
    rows_insert(TABLE, (column, "body"), rows)
    _changed([pk for pk, _ in rows])


def _changed(ids: Sequence[int]) -> None:
    """Log a write to the index that touched `ids` (see SearchChange), in its transaction."""
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {CHANGES} (lo, hi, tag, at) VALUES (%s, %s, %s, %s)",  # noqa: S608 (constant)
            [min(ids), max(ids), secrets.randbits(62), timezone.now()],
        )


CHANGES_KEPT = timedelta(days=1)


def search_changes_prune(now: datetime) -> int:
    """Drop change-log rows older than CHANGES_KEPT but the newest; how many. A reader behind
    them starts its postings over (postings.py), so pruning never makes an answer wrong; the
    newest row stays so the log is never empty (a reader holds nothing read from an empty log)."""
    with connection.cursor() as cur:
        cur.execute(
            f"DELETE FROM {CHANGES} WHERE at < %s "  # noqa: S608 (constant)
            f"AND id < (SELECT max(id) FROM {CHANGES})",
            [now - CHANGES_KEPT],
        )
        return int(cur.rowcount)


def search_rows_replace(rows: Sequence[tuple[int, str]]) -> None:
    """Re-index gifts whose shown text changed (an erasure): rows as for search_rows_add."""
    column = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        for donation_id, _ in rows:
            cur.execute(f"DELETE FROM {TABLE} WHERE {column} = %s", [donation_id])  # noqa: S608 (constant)
    search_rows_add(rows)  # logs the change: the deletes above are in the same id range


WINDOW = 20_000
"""Gift ids below the highest indexed one that a catch-up still looks at: on PostgreSQL a
booking transaction may commit after a later one (ids are drawn before commit); more than
this many ids apart never happens with batches of thousands. An indexer's passes look
WINDOW ids below where the last one stopped (`SearchIndexer`); `search_backlog` counts the
gifts waiting within WINDOW of the newest search row."""

_MISSING = (
    "FROM donations_donation d WHERE d.id > %s AND NOT EXISTS "
    "(SELECT 1 FROM donations_search s WHERE s.{key} = d.id)"
)


def _key() -> str:
    return "rowid" if connection.vendor == "sqlite" else "donation_id"


def _floor() -> int:
    with connection.cursor() as cur:
        # ORDER BY ... LIMIT 1: an FTS5 table walks its rowids backwards; MAX() scans them all.
        cur.execute(f"SELECT {_key()} FROM {TABLE} ORDER BY {_key()} DESC LIMIT 1")  # noqa: S608 (constants)
        (top,) = cur.fetchone() or (None,)
    return max(0, int(top or 0) - WINDOW)


PENDING = "donations_searchpending"


def search_pending_add(ids: Sequence[int]) -> None:
    """Record, in the booking transaction, that the gifts `ids` were booked without their
    search rows (`models.SearchPending`)."""
    rows_insert(
        PENDING,
        ("lo", "hi", "n", "booked_at"),
        [(min(ids), max(ids), len(ids), db_datetime(timezone.now()))],
    )


@dataclass(frozen=True, slots=True)
class SearchBacklog:
    waiting: int
    oldest_booked_at: datetime | None


SPAN = 2 * WINDOW
"""Gift ids `search_backlog` reads one by one, from where the backlog starts."""


def search_backlog() -> SearchBacklog:
    """Booked gifts not in the index yet, and when the oldest of them was booked.

    Read one by one from the lowest gift recorded as booked without its row
    (`SearchPending`) or WINDOW ids below the newest search row, whichever is lower, for
    SPAN ids (and to the end of the records that begin in them); the gifts recorded beyond
    are counted by their records (an indexer reads in id order, so they are all waiting).
    A bounded read however far behind it is, and exact for an indexer far behind an import
    while other bookers index their own gifts above it."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT MIN(lo) FROM {PENDING}")  # noqa: S608 (constants)
        (pending_lo,) = cur.fetchone() or (None,)
        start = _floor() if pending_lo is None else min(_floor(), int(pending_lo) - 1)
        # The span reaches to the end of the records that begin in it.
        cur.execute(f"SELECT MAX(hi) FROM {PENDING} WHERE lo <= %s", [start + SPAN])  # noqa: S608
        (straddling,) = cur.fetchone() or (None,)
        end = max(start + SPAN, int(straddling or 0))
        cur.execute(
            "SELECT COUNT(*), MIN(t.booked_at) "
            + _MISSING.format(key=_key()).replace(
                "FROM donations_donation d",
                "FROM donations_donation d JOIN ledger_journaltransaction t ON t.id = d.txn_id",
            )
            + " AND d.id <= %s",
            [start, end],
        )
        n, oldest = cur.fetchone() or (0, None)
        cur.execute(
            f"SELECT COALESCE(SUM(n), 0), MIN(booked_at) FROM {PENDING} WHERE lo > %s",  # noqa: S608
            [end],
        )
        beyond, beyond_oldest = cur.fetchone() or (0, None)
    moments = [db_datetime_read(m) for m in (oldest, beyond_oldest) if m is not None]
    return SearchBacklog(int(n or 0) + int(beyond or 0), min(moments) if moments else None)


def search_books_mark() -> tuple[int, int]:
    """What changes whenever a gift is booked: the campaigns' gift counts summed (maintained
    in each booking transaction, so a transaction that commits after a later one still moves
    it) and the highest gift id: a read of the totals table (a row per campaign) and one index
    entry. The indexer compares it with its last pass's and skips the window scan when nothing
    was booked since."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(donation_count), 0), "
            "(SELECT COALESCE(MAX(id), 0) FROM donations_donation) FROM ledger_campaigntotals"
        )
        count, top = cur.fetchone()
    return int(count), int(top)


@dataclass
class SearchIndexer:
    """Where an indexer stands: every gift booked with an id up to `done` had its search row
    when its last pass began (0: nothing known yet, so its first pass looks at every gift).
    A PostgreSQL transaction can commit after a later one with a lower id, within WINDOW ids
    of the newest gift then visible (`top`): each pass also looks back to WINDOW ids below
    `top`, when that is below `done` (an indexer far behind looks back at nothing: the gifts
    just before it were visible long before). Passes then read what is new, however far the
    indexer is behind and whatever gifts other bookers indexed themselves meanwhile."""

    done: int = 0
    top: int = 0
    """The newest gift id its last pass saw booked."""
    caught_up: bool = False
    """Whether its last pass reached the newest gift with room to spare (nothing left)."""


def search_index_catch_up(*, limit: int = 5000, indexer: SearchIndexer | None = None) -> int:
    """Index up to `limit` booked gifts that have no search row, lowest ids first; how many
    were indexed. Among the WINDOW + `limit` ids from the first gift above the indexer's
    position, or above WINDOW below the newest gift its last pass saw if that is lower
    (`SearchIndexer`; a bounded range, whatever the planner's statistics after a bulk
    import), and the indexer moves on; without one, from the first gift.

    Reads what the public may see (published name, shown memo, reference; the reference only
    for an erased gift) and writes in one transaction. An erasure that commits in between
    wins: on SQLite the transaction holds the write lock from its start (IMMEDIATE), so the
    two run one after the other; on PostgreSQL the erasure's row stands (ON CONFLICT DO
    NOTHING). Safe to run in several processes at once.
    """
    key = _key()
    indexer = indexer or SearchIndexer()
    with transaction.atomic():
        with connection.cursor() as cur:
            floor = max(0, min(indexer.done, indexer.top - WINDOW))
            # Every gift up to the floor has its row (`SearchIndexer`): so have these.
            cur.execute(f"DELETE FROM {PENDING} WHERE hi <= %s", [floor])  # noqa: S608
            # The range starts at the first gift above the floor: ids need not start at 1
            # nor follow each other (a PostgreSQL sequence skips ahead).
            # One aggregate per subquery: SQLite reads a lone MIN or MAX off the index but
            # walks every row above the floor for both at once (0.2 s a pass at 1.7M gifts).
            cur.execute(
                "SELECT (SELECT MIN(id) FROM donations_donation WHERE id > %s), "
                "(SELECT MAX(id) FROM donations_donation)",
                [floor],
            )
            first, top = cur.fetchone()
            top = max(int(top or 0), floor)
            ceiling = int(first or floor + 1) - 1 + WINDOW + limit
            cur.execute(
                "SELECT d.id, d.display_name, d.public_ref, p.memo_shown, p.id "
                + _MISSING.format(key=key).replace(
                    "FROM donations_donation d",
                    "FROM donations_donation d "
                    "LEFT JOIN donations_donationprivate p ON p.donation_id = d.id",
                )
                + " AND d.id <= %s ORDER BY d.id LIMIT %s",
                [floor, ceiling, limit],
            )
            found = cur.fetchall()
        rows = [
            (pk, search_body(name, shown or "", ref) if private else search_body(ANONYMOUS, ref))
            for pk, name, ref, shown, private in found
        ]
        if connection.vendor == "postgresql" and rows:
            with connection.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {TABLE} (donation_id, body) VALUES (%s, %s) "  # noqa: S608
                    "ON CONFLICT (donation_id) DO NOTHING",
                    rows,
                )
            _changed([pk for pk, _ in rows])
        else:
            search_rows_add(rows)
    # A full pass stops at its last gift; a shorter one saw every gift of its range.
    full_pass = len(rows) == limit
    indexer.done = rows[-1][0] if full_pass else max(indexer.done, min(ceiling, top))
    indexer.top = max(indexer.top, top)
    indexer.caught_up = not full_pass and ceiling >= top
    return len(rows)
