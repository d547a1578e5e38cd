"""The public statement's search index: one row per gift, published fields only.

Each row holds the folded text (casefolded, no diacritics, đ→d, split into ASCII letters and
digits) of the gift's display name, shown memo (DonationPrivate.memo_shown) and public
reference, so "nguyen van a" finds "NGUYỄN VĂN A"; an erased gift, its reference only.
Nothing private (sender account, raw memo, unmasked name) ever enters.

Storage depends on the database (migration 0002_search):
- SQLite: an FTS5 table `donations_search(body)` whose rowid is the donation's id.
- PostgreSQL: a table `donations_search(donation_id, body)` with a GIN index on
  `to_tsvector('simple', body)` (migration 0004; its lexemes are exactly the folded words).
Rows are written by `search_rows_add` inside the booking transaction, so a gift is searchable
exactly when it is booked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from solidarity.core.matching import text_fold
from solidarity.db import rows_insert

TABLE = "donations_search"
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


def search_rows_replace(rows: Sequence[tuple[int, str]]) -> None:
    """Re-index gifts whose shown text changed (an erasure): rows as for search_rows_add."""
    column = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        for donation_id, _ in rows:
            cur.execute(f"DELETE FROM {TABLE} WHERE {column} = %s", [donation_id])  # noqa: S608 (constant)
    search_rows_add(rows)
