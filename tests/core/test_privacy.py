"""The privacy policy's masking: numbers in every shape people type, and the donor's name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.matching import luhn_valid, memo_mask, text_fold
from solidarity.core.privacy import donor_publish, memo_publish, privacy_stricter


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


# The shapes of the issue that passed the old masking, and what each must become.
@pytest.mark.parametrize(
    ("memo", "masked"),
    [
        ("0912/345/678", "****/***/678"),
        ("(+84) 912 345 678", "(+**) *** *** 678"),
        ("+84 (0) 912 345 678", "+** (*) *** *** 678"),
        ("0011.0019.32418", "****.****.**418"),
        ("123-456-789-012", "***-***-***-012"),
        ("4111-1111-1111-1111", "****-****-****-1111"),  # a card: Luhn holds, last four
        ("1903 6655 1230 18", "**** **** ***0 18"),  # an account: the last three
        ("ung ho 500k", "ung ho 500k"),
        ("sdt 0912 xx 345 678 ung ho", "sdt **** xx *** 678 ung ho"),  # found by phonenumbers
    ],
)  # fmt: skip
def test_every_shape_of_the_issue_is_masked(memo, masked):
    assert memo_mask(memo) == masked


def test_the_name_is_masked_in_the_memo_in_any_case_spelling_or_part():
    memo = "NGUYEN VAN AN ung ho Cuba; Nguyễn Văn An; an; nguyenvanan; VANAN; Ân"
    assert memo_mask(memo, ["Nguyễn Văn An"]) == (
        "N***** V** A* ung ho Cuba; N***** V** A*; a*; n**********; V****; Â*"
    )
    # without a name to hide, words stay; numbers are masked either way
    assert memo_mask("NGUYEN VAN AN 0912345678") == "NGUYEN VAN AN *******678"


def test_memo_publish_follows_the_choice():
    memo = "TRAN THI BICH ung ho 0912345678"
    assert memo_publish("anonymous", memo, ["TRAN THI BICH"]) == ""
    assert memo_publish("masked", memo, ["TRAN THI BICH"]) == "T*** T** B*** ung ho *******678"
    assert memo_publish("named", memo, ["TRAN THI BICH"], shown_name="TRAN THI BICH") == (
        "TRAN THI BICH ung ho *******678"
    )
    # a name chosen in place of the sender's: the sender's is still masked
    assert memo_publish("named", memo, ["TRAN THI BICH"], shown_name="Gia dinh Bich") == (
        "T*** T** B*** ung ho *******678"
    )
    assert donor_publish("anonymous", "TRAN THI BICH") == "anonymous"
    assert privacy_stricter("named", "anonymous") == "anonymous"
    assert privacy_stricter("masked", "named") == "masked"


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


# --- properties --------------------------------------------------------------------------

FILLER = st.lists(st.sampled_from(["ung", "ho", "Cuba", "chuyen", "tien", "CT", "ủng", "hộ"]))
SEP = st.sampled_from([" ", ".", "-", "/", " - ", ". ", "/ "])


def _join(draw: st.DrawFn, digits: str) -> str:
    """`digits` cut into random groups of 1 to 5, joined by random separators."""
    parts, i = [], 0
    while i < len(digits):
        n = draw(st.integers(1, 5))
        parts.append(digits[i : i + n])
        i += n
    out = parts[0]
    for p in parts[1:]:
        out += draw(SEP) + p
    return out


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """(a Vietnamese mobile number as typed, its 9-digit national significant number)."""
    nsn = draw(st.sampled_from("35789")) + draw(st.text("0123456789", min_size=8, max_size=8))
    prefix = draw(st.sampled_from(["0", "+84 ", "(+84) ", "+84 (0) ", "84", "+84", "(+84)"]))
    return prefix + _join(draw, nsn), nsn


@st.composite
def embedded(draw: st.DrawFn, numbers: st.SearchStrategy[tuple[str, str]]) -> tuple[str, str]:
    typed, digits = draw(numbers)
    before, after = draw(FILLER), draw(FILLER)
    return " ".join([*before, typed, *after]), digits


@given(embedded(phones()))
def test_a_phone_in_any_shape_keeps_at_most_its_last_three_digits(case):
    memo, nsn = case
    masked = memo_mask(memo)
    assert len(masked) == len(memo)
    assert _digits(masked) == nsn[-3:]


@st.composite
def accounts(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.text("0123456789", min_size=6, max_size=19))
    return _join(draw, number), number


@given(embedded(accounts()))
def test_an_account_or_card_number_keeps_at_most_its_last_four_digits(case):
    memo, number = case
    shown = _digits(memo_mask(memo))
    assert len(shown) <= 4
    assert number.endswith(shown)
    if len(shown) == 4:  # only a card keeps four
        assert luhn_valid(number)
        assert 13 <= len(number) <= 19


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    body = "4" + draw(st.text("0123456789", min_size=14, max_size=14))
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    number = body + check
    sep = draw(st.sampled_from([" ", "-", "", "."]))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4)), number


@given(embedded(cards()))
def test_a_card_keeps_only_its_last_four_digits(case):
    memo, number = case
    assert _digits(memo_mask(memo)) == number[-4:]


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng"]
GIVEN = ["Văn", "Thị", "Minh", "Thu", "Hương", "Đức", "Quỳnh", "Bích"]


@st.composite
def named_memos(draw: st.DrawFn) -> tuple[str, str]:
    words = [
        draw(st.sampled_from(FAMILY)),
        *draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=3)),
    ]
    name = " ".join(words)
    spelled = [
        draw(st.sampled_from([w, w.upper(), w.lower(), text_fold(w), text_fold(w).upper()]))
        for w in words
    ]
    which = draw(st.sampled_from(["full", "given", "joined"]))
    shown = {"full": " ".join(spelled), "given": spelled[-1], "joined": "".join(spelled)}[which]
    return " ".join([*draw(FILLER), shown, *draw(FILLER)]), name


@given(named_memos())
def test_the_donors_name_never_survives_masking(case):
    memo, name = case
    masked = memo_mask(memo, [name])
    folded_words = set(re.findall(r"[a-z]+", text_fold(masked)))
    for word in name.split():
        if len(word) > 1:
            assert text_fold(word) not in folded_words
    assert text_fold("".join(name.split())) not in text_fold(masked)


def test_entries_of_older_logs_that_hold_a_memo_still_verify():
    from solidarity.core.tlog.entry import entries_decode, entry_encode, totals_compute

    old = {
        "kind": "donation",
        "campaign": "cuba",
        "amount": 100_000,
        "currency": "VND",
        "at": "2025-08-25T01:00:00Z",
        "channel": "bank_transfer",
        "donor": "NGUYEN V** A*",
        "memo": "NGUYEN VAN AN ung ho Cuba *******678",
        "ref": "ABCDEFGHJKMN",
        "commit": "0" * 64,
    }
    new = {k: v for k, v in old.items() if k != "memo"}
    decoded = entries_decode([entry_encode(old), entry_encode(new)])
    assert decoded == [old, new]
    assert totals_compute(decoded)["VND"].raised == 200_000
