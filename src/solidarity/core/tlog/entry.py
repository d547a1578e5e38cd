"""Log entries: canonical JSON objects, their schema, donor commitments and the totals rule.

Canonical form: UTF-8, keys sorted, separators "," and ":", no ASCII escaping of non-ASCII text,
no floats. Totals per currency: raised = Σ donation − Σ reversal, disbursed = Σ disbursement,
balance = raised − disbursed, gifts = #donation − #reversal (ARCHITECTURE.md, "The public log").
Goods (`in_kind`, valued in minor units) count apart and never in cash: direction "out" is goods
handed over, any other direction goods received. Kinds that move no money (`account`) are
validated and counted by kind only.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

REQUIRED_FIELDS = ("at", "campaign", "kind")
# Kinds that move money carry `amount` (positive, minor units) and `currency`; the others
# (`account`: a receiving account announced) carry neither and count in no total.
MONEY_KINDS = frozenset({"donation", "reversal", "disbursement", "in_kind"})
MONEY_FIELDS = ("amount", "currency")
_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_encode = _encoder.encode
_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_KIND_RE = re.compile(r"[a-z][a-z_]*")
_kind_match = _KIND_RE.fullmatch
_currency_match = _CURRENCY_RE.fullmatch
_at_match = _AT_RE.fullmatch
_fromisoformat = datetime.fromisoformat


class EntryError(ValueError):
    """An entry is not canonical JSON or breaks the schema; errors lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.index = 0  # which entry failed, when several were decoded together


def _no_float(s: str) -> Any:
    raise json.JSONDecodeError(f"non-integer number {s}", s, 0)


_raw_decode = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float).raw_decode


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    """The canonical encoding of a JSON object.

    orjson's sorted compact encoding when it wrote no escape (so every string went out
    verbatim, as the canonical encoder writes a string without quote, backslash or control
    character; key order by UTF-8 bytes is code point order) and the object is a plain dict
    of str and int values only; else the canonical encoder's own."""
    if type(obj) is dict and _FLAT_TYPES.issuperset(map(type, obj.values())):
        try:
            fast = _fast_dumps(obj, None, _SORTED)
        except TypeError:  # an int beyond 64 bits
            fast = b"\\"
        if b"\\" not in fast:
            return fast
    return _encode(obj).encode()


def entry_validate(obj: Mapping[str, Any]) -> list[str]:
    """Every schema error of an entry object; empty when valid."""
    required = REQUIRED_FIELDS + (MONEY_FIELDS if obj.get("kind") in MONEY_KINDS else ())
    errors = [f"missing field {f!r}" for f in required if f not in obj]
    kind, amount = obj.get("kind"), obj.get("amount")
    currency, at, campaign = obj.get("currency"), obj.get("at"), obj.get("campaign")
    if "kind" in obj and not (isinstance(kind, str) and _KIND_RE.fullmatch(kind)):
        errors.append(f"bad kind {kind!r}")
    if "campaign" in obj and not (isinstance(campaign, str) and campaign):
        errors.append(f"bad campaign {campaign!r}")
    if "amount" in obj and not (type(amount) is int and amount > 0):
        errors.append(f"amount must be a positive integer, not {amount!r}")
    if "currency" in obj and not (isinstance(currency, str) and _CURRENCY_RE.fullmatch(currency)):
        errors.append(f"bad currency {currency!r}")
    if "at" in obj and not (isinstance(at, str) and _valid_at(at)):
        errors.append(f"at must be RFC 3339 UTC ending in Z, not {at!r}")
    return errors


def _valid_at(at: str) -> bool:
    if not _at_match(at):
        return False
    try:
        _fromisoformat(at[:19])
    except ValueError:
        return False
    return True


def entry_encode(obj: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a valid entry; EntryError otherwise."""
    errors = entry_validate(obj)
    if errors:
        raise EntryError(errors)
    _check_no_float(obj)
    return canonical_json(obj)


def _check_no_float(value: Any) -> None:
    if type(value) is dict and _FLAT_TYPES.issuperset(map(type, value.values())):
        return
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return
    if isinstance(value, float):
        raise EntryError([f"non-integer number {value!r}"])
    if isinstance(value, Mapping):
        for v in value.values():
            _check_no_float(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_no_float(v)


_fast_loads, _fast_dumps, _FastError = orjson.loads, orjson.dumps, orjson.JSONDecodeError


_FLAT_TYPES = frozenset((str, int))


@functools.cache
def _valid_times() -> frozenset[str]:
    """Every whole-second time of day an `at` may end with, as _valid_at accepts it (no
    second 60)."""
    return frozenset(
        f"T{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )


@functools.lru_cache(maxsize=4096)
def _day_ok(day: str) -> bool:
    """Whether "YYYY-MM-DD" begins a valid `at` (with any time of _valid_times())."""
    return _valid_at(day + "T00:00:00Z")


_MONEY_FIELDS_GET = operator.itemgetter("amount", "kind", "currency", "at", "campaign")
_SORTED = orjson.OPT_SORT_KEYS


def _batch_decode(datas: Sequence[bytes]) -> list[dict[str, Any]] | None:
    """All entries decoded with one orjson parse and checks over whole columns, when every
    entry passes the fast path's checks (entries_decode); None when any does not.

    Each entry must be exactly orjson's encoding of its object with keys sorted (so the
    array's boundaries cannot have shifted inside a string, and the keys are sorted); every
    value a str or an int; every amount a positive int; every (kind, currency, campaign)
    valid; every `at` a valid day and a whole-second time in _valid_times()."""
    joined = b",".join(datas)
    if b"\\" in joined:
        return None
    try:
        objs = _fast_loads(b"[" + joined + b"]")
    except _FastError:
        return None
    if (
        len(objs) != len(datas)
        or list(map(_fast_dumps, objs, itertools.repeat(None), itertools.repeat(_SORTED)))
        != list(datas)
        or set(map(type, objs)) != {dict}
    ):
        return None
    try:
        amounts, kinds, currencies, ats, campaigns = zip(*map(_MONEY_FIELDS_GET, objs), strict=True)
    except KeyError:
        return None
    values = itertools.chain.from_iterable(map(dict.values, objs))
    if not _FLAT_TYPES.issuperset(map(type, values)):
        return None
    if set(map(type, amounts)) != {int} or min(amounts) <= 0 or set(map(type, ats)) != {str}:
        return None
    heads: set[tuple[str, str, str]] = set()
    if not all(_head_ok(*h, heads) for h in set(zip(kinds, currencies, campaigns, strict=True))):
        return None
    days: set[str] = set(map(operator.getitem, ats, itertools.repeat(slice(0, 10))))
    times = set(map(operator.getitem, ats, itertools.repeat(slice(10, None))))
    if not times <= _valid_times():
        return None
    if not all(map(_day_ok, days)):
        return None
    return objs  # type: ignore[no-any-return]


def entries_decode(
    datas: Sequence[bytes], counter: TotalsCounter | None = None
) -> list[dict[str, Any]]:
    """Each entry in canonical bytes, decoded; EntryError (with .index) at the first bad one.

    Same verdicts as entry_decode, faster for many entries; with counter, the entries are
    counted there once all of them decoded (on EntryError, none is). The fast
    path proves an entry is canonical without the canonical encoder: the entry has no
    backslash, so every string in it is written verbatim, as the canonical encoder writes such
    strings; its keys are sorted; its values are only str and int (orjson gives a float for an
    integer beyond 64 bits, so those fall through); and orjson writes the parsed object back
    byte for byte, so the two encoders agree on every byte. Entries are first tried all
    together (_batch_decode), then one by one. Anything else (escapes, nesting, kinds without
    money, any doubt) takes the full path of entry_decode.
    """
    out = _batch_decode(datas) if len(datas) > 1 else None
    if out is None:
        out = _entries_decode_each(datas)
    if counter is not None:
        counter.add_entries(out)
    return out


def _entries_decode_each(datas: Sequence[bytes]) -> list[dict[str, Any]]:
    """entries_decode one entry at a time."""
    loads, dumps, flat_types, times = _fast_loads, _fast_dumps, _FLAT_TYPES, _valid_times()
    good_days: set[str] = set()  # "YYYY-MM-DD" seen valid
    good_heads: set[tuple[str, str, str]] = set()  # (kind, currency, campaign) seen valid
    good_keys: set[tuple[str, ...]] = set()  # key sequences seen sorted
    out: list[dict[str, Any]] = []
    append = out.append
    for i, data in enumerate(datas):
        fast = None
        if b"\\" not in data:
            try:
                fast = loads(data)
                amount, kind, cur = fast["amount"], fast["kind"], fast["currency"]
                at, campaign = fast["at"], fast["campaign"]
            except (_FastError, KeyError, TypeError):
                fast = None  # not a JSON object with the money fields: the full path says why
        if fast is not None and (
            flat_types.issuperset(map(type, fast.values()))
            and type(amount) is int
            and amount > 0
            and ((kind, cur, campaign) in good_heads or _head_ok(kind, cur, campaign, good_heads))
            and type(at) is str
            and ((at[:10] in good_days and at[10:] in times) or _at_ok(at, good_days))
            and ((keys := tuple(fast)) in good_keys or _keys_ok(keys, good_keys))
            and dumps(fast) == data
        ):
            append(fast)
            continue
        try:
            append(_entry_decode_full(data))
        except EntryError as e:
            e.index = i
            raise
    return out


def _head_ok(kind: object, cur: object, campaign: object, seen: set[tuple[str, str, str]]) -> bool:
    if not (
        isinstance(kind, str)
        and _kind_match(kind)
        and isinstance(cur, str)
        and _currency_match(cur)
        and isinstance(campaign, str)
        and campaign
    ):
        return False
    seen.add((kind, cur, campaign))
    return True


def _keys_ok(keys: tuple[str, ...], seen: set[tuple[str, ...]]) -> bool:
    if list(keys) != sorted(keys):
        return False
    seen.add(keys)
    return True


def _at_ok(at: str, days: set[str]) -> bool:
    """_valid_at, remembering the valid day (valid with any time of _valid_times())."""
    if not _valid_at(at):
        return False
    days.add(at[:10])
    return True


def entry_decode(data: bytes) -> dict[str, Any]:
    """The entry in canonical bytes; EntryError if not canonical JSON of a valid entry."""
    return entries_decode((data,))[0]


def _entry_decode_full(data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        obj, _ = _raw_decode(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EntryError([f"not JSON: {e}"]) from None
    if type(obj) is not dict:
        raise EntryError(["not a JSON object"])
    if _encode(obj) != text:
        raise EntryError(["not in canonical form"])
    errors = entry_validate(obj)
    if errors:
        raise EntryError(errors)
    return obj


def commitment(salt: bytes, private_details: Mapping[str, Any]) -> str:
    """Hex SHA-256(salt || canonical_json(private_details)), the entry's pledge to hidden data."""
    if len(salt) < 16:
        raise ValueError("a commitment salt has at least 16 bytes")
    return hashlib.sha256(salt + canonical_json(private_details)).hexdigest()


_KIND_CURRENCY_GET = operator.itemgetter("kind", "currency")
_AMOUNT_GET = operator.itemgetter("amount")
_CASH_KINDS = MONEY_KINDS - {"in_kind"}
"""Money kinds counted under their own name whatever other fields they carry."""

IN_KIND_OUT = "in_kind:out"
"""The key TotalsCounter files goods handed over under (an `in_kind` entry, direction "out")."""


@dataclass(frozen=True)
class Totals:
    """The published figures of one currency, in minor units; in-kind values never enter cash."""

    currency: str
    raised: int
    disbursed: int
    balance: int
    gifts: int
    reversed: int = 0
    reversals: int = 0
    in_kind_received: int = 0
    in_kind_handed_over: int = 0
    in_kind_gifts: int = 0


class TotalsCounter:
    """Accumulates the totals rule over entries, in any order.

    sums and counts are keyed by (kind, currency); entries of kinds that move no money are
    counted under (kind, "") and summed nowhere; goods handed over under (IN_KIND_OUT, currency).
    """

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], int] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, kind: str, currency: str, amount: int) -> None:
        key = (kind, currency)
        self.sums[key] = self.sums.get(key, 0) + amount
        self.counts[key] = self.counts.get(key, 0) + 1

    def add_entry(self, obj: Mapping[str, Any]) -> None:
        """Count one valid entry object under the totals rule."""
        self.add_entries((obj,))

    def add_entries(self, objs: Iterable[Mapping[str, Any]]) -> None:
        """add_entry for each valid entry object."""
        sums, counts, money = self.sums, self.counts, MONEY_KINDS
        objs = objs if isinstance(objs, list) else list(objs)
        try:
            heads = set(map(_KIND_CURRENCY_GET, objs))
        except KeyError:
            heads = set()
        if len(heads) == 1 and (key := heads.pop())[0] in _CASH_KINDS:
            # One cash kind and currency throughout (a bundle of gifts): summed in one call.
            sums[key] = sums.get(key, 0) + sum(map(_AMOUNT_GET, objs))
            counts[key] = counts.get(key, 0) + len(objs)
            return
        for obj in objs:
            kind = obj["kind"]
            if kind in money:
                if kind == "in_kind" and obj.get("direction") == "out":
                    kind = IN_KIND_OUT
                key = (kind, obj["currency"])
                sums[key] = sums.get(key, 0) + obj["amount"]
            else:
                key = (kind, "")
            counts[key] = counts.get(key, 0) + 1

    def merge(self, other: TotalsCounter) -> None:
        for k, v in other.sums.items():
            self.sums[k] = self.sums.get(k, 0) + v
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v

    def kinds(self) -> dict[str, int]:
        """How many entries of each kind were counted."""
        out: dict[str, int] = {}
        for (kind, _), n in self.counts.items():
            name = "in_kind" if kind == IN_KIND_OUT else kind
            out[name] = out.get(name, 0) + n
        return out

    def totals(self) -> dict[str, Totals]:
        """Totals per currency, for every currency any money entry used."""
        out: dict[str, Totals] = {}
        for cur in sorted({c for _, c in self.sums}):
            s = {k: v for (k, c), v in self.sums.items() if c == cur}
            n = {k: v for (k, c), v in self.counts.items() if c == cur}
            raised = s.get("donation", 0) - s.get("reversal", 0)
            disbursed = s.get("disbursement", 0)
            out[cur] = Totals(
                currency=cur,
                raised=raised,
                disbursed=disbursed,
                balance=raised - disbursed,
                gifts=n.get("donation", 0) - n.get("reversal", 0),
                reversed=s.get("reversal", 0),
                reversals=n.get("reversal", 0),
                in_kind_received=s.get("in_kind", 0),
                in_kind_handed_over=s.get(IN_KIND_OUT, 0),
                in_kind_gifts=n.get("in_kind", 0),
            )
        return out


def totals_compute(entries: Iterable[Mapping[str, Any]]) -> dict[str, Totals]:
    """The totals rule over valid entry objects."""
    counter = TotalsCounter()
    for e in entries:
        counter.add_entry(e)
    return counter.totals()


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, seconds precision (microseconds when present)."""
    moment = moment.astimezone(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(fmt)
