"""Word postings in memory: for a search term, the ids of the gifts whose indexed text has it,
as a Roaring bitmap (pyroaring), so a name of common words ("nguyen van an": 777,000,
121,000 and 51,000 gifts of two million) is an intersection of bitmaps in microseconds
instead of a merge of the index's long lists in milliseconds.

Exact, not a cache that may be stale. Before a term is used, the index's change log
(SearchChange, appended by every write to the index in the same transaction) is read from
where that term last looked; for each change, the term's ids in [lo, hi] are dropped and read
again from the index. A term is read whole again when the row it last applied is gone (pruned)
or carries another tag (a restored database, a rolled-back transaction that reused the id);
nothing read while the log is empty is held (the migration writes a first row and pruning keeps
the newest, so the log is empty only in a database emptied by hand).
On PostgreSQL a change id is drawn before its transaction commits, so a lower id may become
visible after a higher one: the LOOKBACK ids below the highest seen are read again every time
and applied once each.

Per process, shared by its threads, at most TERMS_MAX terms and IDS_HELD_MAX ids (the least
recently used dropped), only terms on HOLD_MIN gifts or more; a term costs one read of its
whole list the first time (0.1-1.2 s for a word on 777,000 gifts, or a campaign of two million)
and then only the changes.

Threads: one lock guards the held terms and the change log's replay (short reads of the changed
ranges); a term read whole is read outside it, by one thread at a time per term, so a worker's
first search for a common word holds up only the searches that need that word. A held term's
bitmap is never changed in place: a replay builds a new one and swaps it in, so a search
intersecting bitmaps outside the lock never sees a range half replayed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from django.db import connection
from pyroaring import BitMap

from solidarity.apps.donations.search import CHANGES, TABLE, Word

TERMS_MAX: Final = 2048
# Ids held in all, at most (a Roaring bitmap of dense ids takes about a bit each, of sparse
# ones two bytes): the least recently used terms are dropped past it.
IDS_HELD_MAX: Final = 20_000_000
# A term on fewer gifts than this is read from the index each time (cheap for so few) and not
# held, so searches for rare or made-up words never push the common ones out.
HOLD_MIN: Final = 1000
# PostgreSQL: change ids below the highest seen that are read again (see the module doc).
LOOKBACK: Final = 64
# More separate id ranges changed than this since a term last looked: read it whole.
RANGES_MAX: Final = 32
READ_CHUNK: Final = 50_000


@dataclass(slots=True)
class _Term:
    ids: BitMap
    seen: int  # the highest change id applied (0: none yet)
    tag: int  # that change's tag
    applied: set[int] = field(default_factory=set)  # PostgreSQL: ids in the lookback window


_terms: OrderedDict[tuple[str, str, str], _Term] = OrderedDict()
_lock = threading.Lock()
# Per term being read whole: the lock its readers queue on (removed once it is read).
_loading: dict[tuple[str, str, str], threading.Lock] = {}


@dataclass(frozen=True, slots=True)
class Matched:
    ids: BitMap  # the campaign's gifts having every word
    gifts: int  # the campaign's gifts in all (indexed or being booked)


def postings_match(campaign_id: int, words: Sequence[Word]) -> Matched:
    """Ids of the campaign's gifts whose indexed text has every word, with `query_words`'
    meaning (whole words; the last one a prefix when marked). Exact as of this call."""
    keys = [("campaign", str(campaign_id))]
    for w in words:
        keys.append(("word", w.fts_term() if connection.vendor == "sqlite" else w.ts_term()))
    with _lock:
        known = [_terms[k].seen for k in (_key(*key) for key in keys) if k in _terms]
        log = _log_since(min(known)) if known else []
        held = [_term_held(kind, term, log) for kind, term in keys]
    terms = [
        ids if ids is not None else _term_read(kind, term)
        for ids, (kind, term) in zip(held, keys, strict=True)
    ]
    gifts = len(terms[0])
    terms.sort(key=len)
    found = BitMap(terms[0])
    for other in terms[1:]:
        found &= other
        if not found:
            break
    return Matched(found, gifts)


def postings_forget() -> None:
    """Drop every term (tests that swap databases under a running process)."""
    with _lock:
        _terms.clear()


def _key(kind: str, term: str) -> tuple[str, str, str]:
    return (str(connection.settings_dict["NAME"]), kind, term)


def _term_held(kind: str, term: str, log: list[tuple[int, int, int, int]]) -> BitMap | None:
    """The held term's ids brought up to date with `log` (read from at most its `seen`);
    None when it is not held or must be read whole again. Under `_lock`."""
    key = _key(kind, term)
    entry = _terms.get(key)
    if entry is None:
        return None
    _terms.move_to_end(key)
    if not _replay(kind, term, entry, log):
        del _terms[key]
        return None
    return entry.ids


def _term_read(kind: str, term: str) -> BitMap:
    """The term's ids read whole, outside `_lock`, and held when worth it. One thread reads a
    term at a time: the others wait for it and take what it read, brought up to date."""
    key = _key(kind, term)
    with _lock:
        gate = _loading.setdefault(key, threading.Lock())
    with gate:
        with _lock:
            entry = _terms.get(key)
            if entry is not None:  # read by the thread this one waited for: replayed to now
                ids = _term_held(kind, term, _log_since(entry.seen))
                if ids is not None:
                    return ids
        seen, tag = _log_head()
        entry = _Term(_read(kind, term, None), seen, tag)
        # Read from an empty log, no row would tell later which history the ids came from (a
        # database restored or rolled back to another empty log): not held.
        if len(entry.ids) >= HOLD_MIN and seen:
            if connection.vendor != "sqlite":
                entry.applied = {i for i, _t, _lo, _hi in _log_since(seen)}
            with _lock:
                _terms[key] = entry
                held = sum(len(t.ids) for t in _terms.values())
                while len(_terms) > TERMS_MAX or (held > IDS_HELD_MAX and len(_terms) > 1):
                    _key_dropped, dropped = _terms.popitem(last=False)
                    held -= len(dropped.ids)
    with _lock:
        if _loading.get(key) is gate:
            del _loading[key]
    return entry.ids


def _replay(kind: str, term: str, entry: _Term, log: list[tuple[int, int, int, int]]) -> bool:
    """Bring `entry` up to `log`; False when it must be read whole instead."""
    low = entry.seen if connection.vendor == "sqlite" else entry.seen - LOOKBACK
    rows = [r for r in log if r[0] >= low]
    if entry.seen and not any(i == entry.seen and t == entry.tag for i, t, _lo, _hi in rows):
        return False
    if connection.vendor == "sqlite":
        new = [r for r in rows if r[0] > entry.seen]
    else:
        new = [r for r in rows if r[0] not in entry.applied]
    if not new:
        return True
    ranges = _coalesced([(lo, hi) for _i, _t, lo, hi in new])
    if len(ranges) > RANGES_MAX:
        return False
    ids = BitMap(entry.ids)  # a new bitmap: searches may be intersecting the held one
    for lo, hi in ranges:
        ids.remove_range(lo, hi + 1)
        ids |= _read(kind, term, (lo, hi))
    entry.ids = ids
    top = max(new)
    if top[0] > entry.seen:
        entry.seen, entry.tag = top[0], top[1]
    if connection.vendor != "sqlite":
        entry.applied.update(i for i, _t, _lo, _hi in new)
        entry.applied = {i for i in entry.applied if i > entry.seen - LOOKBACK}
    return True


def _coalesced(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _log_head() -> tuple[int, int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, tag FROM {CHANGES} ORDER BY id DESC LIMIT 1")  # noqa: S608 (constant)
        row = cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _log_since(seen: int) -> list[tuple[int, int, int, int]]:
    """Change rows from `seen` on (and the lookback below it on PostgreSQL), in id order."""
    low = seen if connection.vendor == "sqlite" else seen - LOOKBACK
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id, tag, lo, hi FROM {CHANGES} WHERE id >= %s ORDER BY id",  # noqa: S608 (constant)
            [max(low, 0)],
        )
        return [(int(i), int(t), int(lo), int(hi)) for i, t, lo, hi in cur.fetchall()]


def _read(kind: str, term: str, between: tuple[int, int] | None) -> BitMap:
    """The ids of `term` (a campaign's gifts, or an indexed word), all or within `between`."""
    if kind == "campaign":
        sql, key, params = (
            "SELECT id FROM donations_donation WHERE campaign_id = %s",
            "id",
            [int(term)],
        )
    elif connection.vendor == "sqlite":
        sql, key, params = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", "rowid", [term]  # noqa: S608 (constant table)
    else:
        sql, key, params = (
            f"SELECT donation_id FROM {TABLE} "  # noqa: S608 (constant table)
            "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', %s)",
            "donation_id",
            [term],
        )
    if between is not None:
        sql += f" AND {key} BETWEEN %s AND %s"
        params += list(between)
    found = BitMap()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        # In chunks: a campaign of two million gifts as one list of rows would hold about
        # 170 MB for a moment in a web worker.
        while chunk := cur.fetchmany(READ_CHUNK):
            found.update([row[0] for row in chunk])
    return found
