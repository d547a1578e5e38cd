"""Memo normalization, campaign matching, donor names, masking and reversal references."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.matching import (
    CampaignRule,
    campaign_match,
    donor_name_extract,
    memo_mask,
    memo_normalize,
    name_mask,
    reversal_ref_extract,
)
from solidarity.core.statements.base import VIETNAM_TZ, BankTransaction

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
viet_text = st.text(alphabet=VIET + VIET.upper() + " .,:;-/0123456789", max_size=60)


@pytest.mark.parametrize("memo", ["Ủng hộ Cuba", "UNG HO CUBA", "ung ho Cu Ba", "IBFT cu-ba"])
def test_cuba_variants_contain_the_code(memo):
    assert memo_normalize("CUBA") in memo_normalize(memo)


def test_diacritics_and_d_bar():
    assert memo_normalize("lu lut") in memo_normalize("Ủng hộ đồng bào lũ lụt")
    assert memo_normalize("Đỗ Đức") == "doduc"


@given(viet_text)
def test_normalize_is_idempotent_and_plain(text):
    n = memo_normalize(text)
    assert memo_normalize(n) == n
    assert all(c.isascii() and c.isalnum() and not c.isupper() for c in n)


@given(viet_text)
def test_normalize_ignores_case_spacing_and_punctuation(text):
    n = memo_normalize(text)
    assert memo_normalize(text.upper()) == n
    assert memo_normalize(text.replace(" ", "")) == n
    assert memo_normalize(" . ".join(text.split())) == n


@given(viet_text, viet_text)
def test_normalize_of_concatenation_contains_parts(a, b):
    assert memo_normalize(a) in memo_normalize(a + " " + b)


def tx(memo: str, account: str = "0801234567890") -> BankTransaction:
    return BankTransaction(
        account=account, bin=None, currency="VND", amount_minor=200_000, direction="credit",
        booked_at=datetime(2025, 8, 14, tzinfo=VIETNAM_TZ), value_date=None, bank_ref=None,
        memo=memo, counterparty_name=None, counterparty_account=None, is_reversal=False,
        reverses_ref=None, source_format="csv", line=1, identity="x",
    )  # fmt: skip


RULES = [
    CampaignRule("cuba", "CUBA", ("cu ba",), ("0801234567890", "SHARED")),
    CampaignRule("yagi", "YAGI", ("lu lut", "bao lu"), ("0011001932418", "SHARED")),
]


def test_account_of_one_campaign_decides_alone():
    result = campaign_match(tx("ung ho lu lut", "0801234567890"), RULES)
    assert (result.kind, result.slug, result.reason) == ("matched", "cuba", "account")


@pytest.mark.parametrize(
    ("memo", "kind", "slugs"),
    [
        ("Ủng hộ nhân dân Cu Ba", "matched", ("cuba",)),
        ("ung ho dong bao lu lut", "matched", ("yagi",)),
        ("chuyen tien", "none", ()),
        ("", "none", ()),
        ("CUBA va lu lut", "several", ("cuba", "yagi")),
    ],
)
def test_shared_account_is_decided_by_memo(memo, kind, slugs):
    result = campaign_match(tx(memo, "SHARED"), RULES)
    assert (result.kind, result.slugs) == (kind, slugs)


@pytest.mark.parametrize(
    ("memo", "name"),
    [
        (
            "MBVCB.6953837514.LE THI HOA chuyen tien.CT tu 0071000812345 LE THI HOA toi "
            "0011001932418 UY BAN MAT TRAN TO QUOC VIET NAM",
            "LE THI HOA",
        ),
        ("123456.100924.080102.TRAN VAN BINH chuyen tien ung ho", "TRAN VAN BINH"),
        ("IBFT NGO THI THU chuyen tien", "NGO THI THU"),
        ("CT nhanh 247 den: TRAN VAN BINH chuyen tien", "TRAN VAN BINH"),
        ("0381002345 NGUYEN VAN AN Chuyen tien; thoi gian GD:09092024 23:55:31", "NGUYEN VAN AN"),
        ("Chuyen tien den tu NAPAS Noi dung: PHAM THI LAN chuyen tien FT2426034", "PHAM THI LAN"),
        ("Chuyen tien den tu NAPAS Noi dung: ung ho Cuba FT24260341614260", None),
        ("IBFT Ung ho dong bao bi lu lut", None),
        ("", None),
    ],
)  # fmt: skip
def test_donor_name_from_memo_shapes(memo, name):
    assert donor_name_extract(memo, None) == name


def test_structured_party_wins():
    assert donor_name_extract("CT nhanh 247 den: A B chuyen tien", " VU  DUC THANG ") == (
        "VU DUC THANG"
    )


@pytest.mark.parametrize(
    ("memo", "masked"),
    [
        ("UNG HO CUBA 0912345678", "UNG HO CUBA *******678"),
        ("goi +84 912 345 678 nhe", "goi +** *** *** 678 nhe"),
        ("CT tu 0071000812345 LE THI HOA", "CT tu **********345 LE THI HOA"),
        ("ung ho 500k", "ung ho 500k"),
    ],
)
def test_memo_mask(memo, masked):
    assert memo_mask(memo) == masked


def test_name_mask():
    assert name_mask("NGUYEN VAN AN") == "NGUYEN V** A*"
    assert name_mask("Lan") == "L**"
    assert name_mask("  ") == ""


@pytest.mark.parametrize(
    ("memo", "ref"),
    [
        ("HOAN TRA GD FT25226900000101 do sai thong tin", "FT25226900000101"),
        ("Hoàn trả giao dịch FT24256341600001", "FT24256341600001"),
        ("TRA LAI GD 5213.47231", "5213.47231"),
        ("REFUND FT24256341600001", "FT24256341600001"),
        ("ung ho hoan toan", None),
        ("Ung ho Cuba", None),
    ],
)
def test_reversal_ref(memo, ref):
    assert reversal_ref_extract(memo) == ref
