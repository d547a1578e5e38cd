"""Memo rules: normalization, campaign matching, donor names, masking, reversal references.

Memo shapes are those of Vietnamese bank statements listed in ARCHITECTURE.md ("Vietnamese
bank facts"). Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import phonenumbers

if TYPE_CHECKING:
    from solidarity.core.statements.base import BankTransaction

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_VIET_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def _fold_table() -> dict[int, str | None]:
    """Latin letters with diacritics (Vietnamese included) → ASCII; combining marks → gone."""
    table: dict[int, str | None] = dict.fromkeys(range(768, 880))
    for lo, hi in ((0xC0, 0x250), (0x1E00, 0x1F00)):
        for code in range(lo, hi):
            base = "".join(
                c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c)
            )
            if base.isascii() and base:
                table[code] = base
    table.update({ord("đ"): "d", ord("Đ"): "D", ord("ð"): "d", ord("Ð"): "D"})
    return table


_FOLD = _fold_table()


def text_fold(text: str) -> str:
    """Casefold and strip diacritics (đ→d), keeping every other character in place."""
    if text.isascii():
        return text.casefold()
    text = text.translate(_FOLD)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.translate(_VIET_EXTRA))
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return text.casefold()


def _normalize_table() -> dict[int, str | None]:
    """One translate pass for ASCII and Latin letters: folded letters and digits, nothing else."""
    table: dict[int, str | None] = {}
    for code in [*range(0x250), *range(0x300, 0x370), *range(0x1E00, 0x1F00)]:
        table[code] = _NON_ALNUM.sub("", text_fold(chr(code))) or None
    return table


_NORMALIZE = _normalize_table()


def memo_normalize(text: str) -> str:
    """Casefold, strip diacritics, drop everything but ASCII letters and digits.

    `Ủng hộ Cuba`, `UNG HO CUBA` and `ung ho Cu Ba` all normalize to strings containing
    `cuba`; a code or keyword matches when its normalization is a substring.
    """
    quick = text.translate(_NORMALIZE)
    if quick.isascii():
        return quick
    return _NON_ALNUM.sub("", text_fold(quick))


MatchKind = Literal["matched", "none", "several"]


@dataclass(frozen=True, slots=True)
class CampaignRule:
    """How to recognize a campaign's transfers: its memo code, keywords and accounts."""

    slug: str
    code: str
    keywords: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchResult:
    """`matched` names exactly one campaign; `none` and `several` go to review."""

    kind: MatchKind
    slugs: tuple[str, ...]
    reason: str

    @property
    def slug(self) -> str | None:
        return self.slugs[0] if self.kind == "matched" else None


def _memo_hits(normalized_memo: str, rule: CampaignRule) -> bool:
    needles = [rule.code, *rule.keywords]
    return any((n := memo_normalize(w)) and n in normalized_memo for w in needles)


def campaign_match(tx: BankTransaction, rules: Sequence[CampaignRule]) -> MatchResult:
    """Decide which campaign a transaction belongs to.

    An account that belongs to exactly one campaign decides alone. On an account shared by
    several campaigns (or one no rule names), the memo code or keywords decide among the
    candidates; zero or several hits go to review.
    """
    on_account = [r for r in rules if tx.account in r.accounts]
    if len(on_account) == 1:
        return MatchResult("matched", (on_account[0].slug,), "account")
    candidates = on_account or [r for r in rules if not r.accounts]
    memo = memo_normalize(tx.memo)
    hits = tuple(r.slug for r in candidates if _memo_hits(memo, r))
    if len(hits) == 1:
        return MatchResult("matched", hits, "memo")
    if not hits:
        return MatchResult("none", (), "no campaign code or keyword in memo")
    return MatchResult("several", hits, "memo names several campaigns")


_NAME_WORD = r"[A-ZÀ-Ỹa-zà-ỹĐđ]+"
_NAME = rf"{_NAME_WORD}(?: {_NAME_WORD}){{1,6}}"
_MBVCB = re.compile(rf"^MBVCB\.\d+\.(?P<a>.*?)\.CT tu \d+ (?P<name>{_NAME}) toi ", re.I)
_MBVCB_SHORT = re.compile(rf"^MBVCB\.\d+\.(?P<name>{_NAME}) chuyen tien", re.I)
_TRACE = re.compile(r"^\d{6}\.\d{6}\.\d{6}\.(?P<rest>.*)$", re.S)
_IBFT = re.compile(r"^IBFT\s+(?P<rest>.*)$", re.S | re.I)
_NAPAS = re.compile(r"Noi dung:\s*(?P<rest>.*)$", re.S | re.I)
_CT247 = re.compile(rf"CT nhanh 247 den:\s*(?P<name>{_NAME}) chuyen tien", re.I)
_ACCT_NAME = re.compile(rf"^\d{{6,}} (?P<name>{_NAME}) chuyen tien", re.I)
_NAME_CHUYEN = re.compile(rf"^(?P<name>{_NAME}) chuyen tien", re.I)
_NOT_NAME = frozenset({"chuyen", "tien", "ung", "ho", "cuba", "ck", "ct", "gd", "tu", "den"})


def _clean_name(candidate: str) -> str | None:
    words = candidate.split()
    if not 2 <= len(words) <= 7:
        return None
    if any(memo_normalize(w) in _NOT_NAME for w in words):
        return None
    return " ".join(words).upper()


def donor_name_extract(memo: str, counterparty_name: str | None) -> str | None:
    """The payer's name: the statement's structured party field wins, else the memo shapes
    of ARCHITECTURE.md; None when no shape yields a plausible name."""
    if counterparty_name and counterparty_name.strip():
        return " ".join(counterparty_name.split())
    text = " ".join(memo.split())
    for _ in range(3):  # unwrap IBFT / trace / NAPAS prefixes
        if (m := _TRACE.match(text)) or (m := _IBFT.match(text)) or (m := _NAPAS.search(text)):
            text = m["rest"]
        else:
            break
    for pattern in (_MBVCB, _MBVCB_SHORT, _CT247, _ACCT_NAME, _NAME_CHUYEN):
        if (m := pattern.search(text)) and (name := _clean_name(m["name"])):
            return name
    return None


_GROUP = re.compile(r"\d+(?:[ \t.\-/()+]{1,3}\d+)*")
"""Digits written as one number: digit runs joined by at most three separator characters
(space, tab, ``. - / ( ) +``), as in ``0912/345/678``, ``+84 (0) 912 345 678``,
``0011.0019.32418`` or ``4111-1111-1111-1111``."""
NUMBER_MIN_DIGITS = 6
"""A group of this many digits or more could be an account (Vietnamese accounts have 6 to 19
digits), a phone or a card number, and is masked."""
PHONE_MIN_DIGITS = 9
"""The fewest digits of a Vietnamese phone number without its leading 0 or +84."""
PHONE_MAX_DIGITS = 13
"""The most: +84 and an 11-digit number."""
PHONE_GAP = 4
"""How far apart (in characters) the pieces of a phone number written in pieces may be."""
_LETTERS = re.compile(r"[^\W\d_]+")


def luhn_valid(digits: str) -> bool:
    """The Luhn (ISO/IEC 7812-1) check digit of a card number holds."""
    odd = sum(map(int, digits[-1::-2]))
    even = sum(map(_LUHN_DOUBLED.__getitem__, map(int, digits[-2::-2])))
    return (odd + even) % 10 == 0


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
"""A digit doubled, its two digits summed (Luhn's every second digit from the right)."""


def _phone_clusters(text: str, groups: Sequence[tuple[int, int, list[int]]]) -> Iterator[list[int]]:
    """The digit positions of phone numbers written in pieces the digit groups did not join
    (``0912 xx 345 678``): neighbouring groups at most PHONE_GAP characters apart on one line,
    one of them short, that phonenumbers (region VN) takes for a possible number."""
    i = 0
    while i < len(groups):
        j, positions = i, list(groups[i][2])
        while j + 1 < len(groups) and _near(text, groups[j][1], groups[j + 1][0]):
            j += 1
            positions += groups[j][2]
        if (
            j > i
            and PHONE_MIN_DIGITS <= len(positions) <= PHONE_MAX_DIGITS
            and any(len(g[2]) < NUMBER_MIN_DIGITS for g in groups[i : j + 1])
            and _possible_phone("".join(text[k] for k in positions))
        ):
            yield positions
        i = j + 1


def _near(text: str, end: int, start: int) -> bool:
    return start - end <= PHONE_GAP and "\n" not in text[end:start]


def _possible_phone(digits: str) -> bool:
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


def _hide_digits(hidden: set[int], positions: Sequence[int], keep: int) -> None:
    hidden.update(positions[: max(len(positions) - keep, 0)])


def _digit_positions(text: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if text[i].isdigit()]


def memo_mask(text: str, names: Iterable[str] = ()) -> str:
    """The memo as the site may show it.

    Every number that could be a phone, a card (13 to 19 digits passing Luhn) or an account
    (NUMBER_MIN_DIGITS digits or more, separators between the digits allowed; a phone written
    in pieces: _phone_clusters) has its digits starred but the last three (the last four of
    a card); and
    every word of `names` (case, diacritics and spacing ignored, also alone or run together
    with the next word) keeps its first letter only. Separators and other text are kept.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    hidden: set[int] = set()
    groups = []
    for m in _GROUP.finditer(text):
        start, end = m.span()
        group = m.group()
        if group.isdigit():  # one run of digits, the common case
            positions, digits = list(range(start, end)), group
        else:
            positions = _digit_positions(text, start, end)
            digits = "".join(text[i] for i in positions)
        groups.append((start, end, positions))
        if len(positions) < NUMBER_MIN_DIGITS:
            continue
        card = 13 <= len(digits) <= 19 and digits.isascii() and luhn_valid(digits)
        _hide_digits(hidden, positions, 4 if card else 3)
    for positions in _phone_clusters(text, groups):
        _hide_digits(hidden, positions, 3)
    runs = _name_runs(names)
    if runs and text.isascii():
        _hide_names_ascii(hidden, text.lower(), runs)
    elif runs:
        for m in _LETTERS.finditer(text):
            if _word_fold(m.group()) in runs:
                hidden.update(range(m.start() + 1, m.end()))
    if not hidden:
        return text
    chars = list(text)
    for i in hidden:
        chars[i] = "*"
    return "".join(chars)


def _hide_names_ascii(hidden: set[int], low: str, runs: Iterable[str]) -> None:
    """The token loop of memo_mask for ASCII text, by search: each run found as a whole
    word (not next to another letter) has all but its first letter hidden."""
    for run in runs:
        k = low.find(run)
        while k >= 0:
            end = k + len(run)
            if (k == 0 or not low[k - 1].isalpha()) and (end == len(low) or not low[end].isalpha()):
                hidden.update(range(k + 1, end))
            k = low.find(run, k + 1)


def _word_fold(word: str) -> str:
    """A word as memo_normalize folds it: lower case ASCII letters and digits only."""
    if word.isascii() and word.isalnum():
        return word.casefold()
    return _NON_ALNUM.sub("", text_fold(word))


def _name_runs(names: Iterable[str]) -> frozenset[str]:
    """Every word of `names`, folded, and every run of consecutive words written together
    (``nguyenvanan``, ``vanan``)."""
    runs: set[str] = set()
    for name in names:
        words = [w for w in map(_word_fold, name.split()) if w]
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                runs.add("".join(words[i:j]))
    return frozenset(runs)


def name_mask(name: str) -> str:
    """Publishable form of a person's name: the family name (first word) in full, every
    other word reduced to its first letter followed by one star per hidden letter.

    "NGUYEN VAN AN" → "NGUYEN V** A*"; a one-word name keeps only its first letter.
    """
    words = name.split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][0] + "*" * (len(words[0]) - 1)
    return " ".join([words[0], *(w[0] + "*" * (len(w) - 1) for w in words[1:])])


_REVERSAL = re.compile(
    r"\b(?:hoan\s*tra|tra\s*lai|hoan\s*tien|refund(?:\s+(?:of|for))?)"
    r"(?:\s*(?:gd|giao\s*dich|tx|transaction))?\s*[:#.]?\s*(?:so\s*)?"
    r"(?P<ref>[a-z0-9][a-z0-9./-]{4,}[a-z0-9])",
    re.I,
)


def reversal_ref_extract(memo: str) -> str | None:
    """The original reference named by a return/refund memo (`HOAN TRA GD FT25…`,
    `TRA LAI GD …`, `REFUND …`), uppercased; None when the memo names none."""
    m = _REVERSAL.search(text_fold(memo))
    if m is None or not any(c.isdigit() for c in m["ref"]):
        return None
    return m["ref"].upper()


def matches_any(normalized_memo: str, words: Iterable[str]) -> bool:
    """True when any of `words`, normalized, occurs in the normalized memo."""
    return any((n := memo_normalize(w)) and n in normalized_memo for w in words)
