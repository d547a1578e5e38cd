"""VietQR payloads: the NAPAS/subiz/vietqr-ts vectors, every rejection rule, and round trips."""

from __future__ import annotations

import contextlib
import csv
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.vietqr import (
    ACCOUNT_MAX,
    GUID_NAPAS,
    INITIATION_DYNAMIC,
    INITIATION_STATIC,
    PURPOSE_MAX,
    SERVICE_ACCOUNT,
    SERVICE_CARD,
    VietQRError,
    VietQRPayload,
    crc16_ccitt_false,
    memo_ascii,
    tlv_decode,
    tlv_encode,
    vietqr_build,
    vietqr_parse,
    vietqr_payload,
)

VECTORS = Path("/work/shared/testdata/vietqr/payloads.tsv")


def _vectors() -> list[dict[str, str]]:
    with VECTORS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _sealed(body: str) -> str:
    """`body` + "6304" + its CRC: a payload whose checksum is right whatever its fields say."""
    body += "6304"
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


def _payload_text(
    *,
    root: list[tuple[str, str]] | None = None,
    merchant: list[tuple[str, str]] | None = None,
    beneficiary: list[tuple[str, str]] | None = None,
) -> str:
    """A correctly sealed payload built from raw (ID, value) lists; defaults are a valid one."""
    if beneficiary is None:
        beneficiary = [("00", "970436"), ("01", "0011001932418")]
    if merchant is None:
        merchant = [("00", GUID_NAPAS), ("01", tlv_encode(beneficiary)), ("02", SERVICE_ACCOUNT)]
    if root is None:
        root = [
            ("00", "01"),
            ("01", "12"),
            ("38", tlv_encode(merchant)),
            ("53", "704"),
            ("54", "50000"),
            ("58", "VN"),
            ("62", tlv_encode([("08", "ung ho mien Trung")])),
        ]
    return _sealed(tlv_encode(root))


def _root_without(tag: str) -> list[tuple[str, str]]:
    default = tlv_decode(_payload_text()[:-8])
    return [(t, v) for t, v in default if t != tag]


def _root_with(tag: str, value: str) -> list[tuple[str, str]]:
    default = tlv_decode(_payload_text()[:-8])
    return [(t, value if t == tag else v) for t, v in default]


# --- shared vectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("row", _vectors(), ids=lambda row: row["source"][:60])
def test_vector_accepted_iff_crc_and_structure_valid(row: dict[str, str]) -> None:
    valid = row["crc_valid"] == "yes" and row["structure_valid"] == "yes"
    if valid:
        payload = vietqr_parse(row["payload"])
        assert vietqr_parse(vietqr_build(payload)) == payload
    else:
        with pytest.raises(VietQRError):
            vietqr_parse(row["payload"])


def test_vectors_cover_both_outcomes() -> None:
    rows = _vectors()
    assert len(rows) == 12
    rejected = [r for r in rows if "no" in (r["crc_valid"], r["structure_valid"])]
    assert len(rejected) == 3


def test_spec_6_1_1_account_longer_than_declared_is_a_length_error() -> None:
    row = next(r for r in _vectors() if "6.1.1" in r["source"])
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(row["payload"])
    assert exc.value.field == "38/01/01"
    assert "stray" in str(exc.value)


def test_spec_6_1_4_headline_carries_another_strings_crc() -> None:
    row = next(r for r in _vectors() if "headline" in r["source"])
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(row["payload"])
    assert exc.value.field == "63"
    assert "bad CRC" in str(exc.value)


def test_service_code_nested_in_the_wrong_template_is_refused() -> None:
    row = next(r for r in _vectors() if "vietqr-samples" in r["source"])
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(row["payload"])
    fields = {p.field for p in exc.value.problems}
    assert fields == {"38/02", "38/01/02"}


def test_subiz_readme_vector_parses_to_its_fields() -> None:
    text = (
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
        "530370454061200005802VN62170813ung ho lu lut6304C15C"
    )
    assert vietqr_parse(text) == VietQRPayload(
        bin="970415",
        account="0011001932418",
        service=SERVICE_ACCOUNT,
        amount=120_000,
        purpose="ung ho lu lut",
        initiation=INITIATION_DYNAMIC,
    )


def test_build_reproduces_subiz_vector_from_vietnamese_memo() -> None:
    # Given the memo as a person types it, with diacritics
    payload = vietqr_payload(
        bin="970415", account="0011001932418", amount=120_000, memo="ủng hộ lũ lụt"
    )
    # Then the built string is the published one, byte for byte
    assert vietqr_build(payload) == (
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
        "530370454061200005802VN62170813ung ho lu lut6304C15C"
    )


def test_build_reproduces_static_card_vector() -> None:
    payload = VietQRPayload(bin="970403", account="9704031101234567", service=SERVICE_CARD)
    assert vietqr_build(payload) == (
        "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC"
        "53037045802VN63044F52"
    )


def test_extra_62_fields_are_checked_and_dropped() -> None:
    row = next(r for r in _vectors() if "6.1.3" in r["source"])
    payload = vietqr_parse(row["payload"])
    assert payload.purpose == "thanh toan don hang"
    assert "NPS6869" not in vietqr_build(payload)


# --- CRC and TLV ------------------------------------------------------------------------------


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_tlv_round_trip_and_errors() -> None:
    objects = [("00", "01"), ("62", tlv_encode([("08", "x" * 25)]))]
    assert tlv_decode(tlv_encode(objects)) == objects
    with pytest.raises(VietQRError, match=r"outside 1\.\.99"):
        tlv_encode([("08", "")])
    with pytest.raises(VietQRError, match=r"outside 1\.\.99"):
        tlv_encode([("08", "x" * 100)])
    with pytest.raises(VietQRError, match="two digits"):
        tlv_encode([("8", "x")])
    with pytest.raises(VietQRError) as exc:
        tlv_decode("0005abc", path="62")
    assert exc.value.field == "62/00"
    assert "declared length 5" in str(exc.value)


# --- rejection rules, one at a time ------------------------------------------------------------


def test_default_fixture_is_valid() -> None:
    assert vietqr_parse(_payload_text()).purpose == "ung ho mien Trung"


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        pytest.param("", "63", "missing", id="empty"),
        pytest.param(_payload_text()[:-8], "63", "missing", id="no-crc"),
        pytest.param(_payload_text()[:-4] + "abcd", "63", "uppercase", id="lowercase-crc"),
        pytest.param(_payload_text()[:-1] + "G", "63", "uppercase", id="non-hex-crc"),
        pytest.param(_payload_text()[:-4] + "0000", "63", "bad CRC", id="wrong-crc"),
        pytest.param(_sealed("00020101021238"), "38", "declared length 63", id="short-object"),
        pytest.param(_sealed("0002010x"), "", "not a two-digit ID", id="bad-id"),
        pytest.param(_sealed("000201010012"), "01", "not two digits", id="zero-length"),
        pytest.param(_sealed("5303704" + "000201"), "00", "must come first", id="00-not-first"),
    ],
)
def test_structure_errors(text: str, field: str, fragment: str) -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(text)
    assert exc.value.field == field
    assert fragment in str(exc.value)


def test_crc_must_be_last() -> None:
    # Given a payload whose trailing "6304" and CRC sit inside the value of another field
    body = "000201" + "5909x6304"
    text = body + f"{crc16_ccitt_false(body.encode()):04X}"
    # Then the CRC matches, but the structure has no CRC field at the end
    with pytest.raises(VietQRError, match="last field"):
        vietqr_parse(text)


@pytest.mark.parametrize("tag", ["01", "38", "53", "58"])
def test_missing_mandatory_root_field(tag: str) -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(_payload_text(root=_root_without(tag)))
    assert (tag, "mandatory field is missing") in {(p.field, p.message) for p in exc.value.problems}


@pytest.mark.parametrize(
    ("tag", "value", "fragment"),
    [
        ("00", "02", "payload format must be 01"),
        ("01", "21", "point of initiation"),
        ("53", "840", "currency must be 704"),
        ("58", "VI", "country must be VN"),
        ("54", "1800.00", "no decimals"),
        ("54", "12a", "digits"),
        ("54", "1" * 14, "1..13 digits"),
        ("54", "0", "positive"),
        ("62", tlv_encode([("08", "x" * 26)]), "1..25 characters"),
        ("62", tlv_encode([("08", "Ủng hộ")]), "printable ASCII"),
        ("62", tlv_encode([("01", "x" * 26)]), "at most 25"),
        ("62", "0810abc", "declared length 10"),
    ],
)
def test_bad_root_values(tag: str, value: str, fragment: str) -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(_payload_text(root=_root_with(tag, value)))
    assert exc.value.field.startswith(tag)
    assert fragment in str(exc.value)


def test_amount_of_thirteen_digits_is_accepted() -> None:
    payload = vietqr_parse(_payload_text(root=_root_with("54", "9" * 13)))
    assert payload.amount == 10**13 - 1


def test_duplicate_field_is_refused() -> None:
    root = [*_root_without("58"), ("58", "VN"), ("58", "VN")]
    with pytest.raises(VietQRError, match="more than once"):
        vietqr_parse(_payload_text(root=root))


@pytest.mark.parametrize(
    ("merchant", "field", "fragment"),
    [
        ([("01", tlv_encode([("00", "970436"), ("01", "1")])), ("02", SERVICE_ACCOUNT)],
         "38/00", "missing"),
        ([("00", "A000000728"), ("01", tlv_encode([("00", "970436"), ("01", "1")])),
          ("02", SERVICE_ACCOUNT)], "38/00", "GUID"),
        ([("00", GUID_NAPAS), ("02", SERVICE_ACCOUNT)], "38/01", "missing"),
        ([("00", GUID_NAPAS), ("01", tlv_encode([("00", "970436"), ("01", "1")])),
          ("02", "QRIBFTTX")], "38/02", "service code"),
        ([("00", GUID_NAPAS), ("01", tlv_encode([("00", "970436"), ("01", "1")])),
          ("02", SERVICE_ACCOUNT), ("03", "x")], "38/03", "not a field"),
    ],
)  # fmt: skip
def test_bad_merchant_template(merchant: list[tuple[str, str]], field: str, fragment: str) -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(_payload_text(merchant=merchant))
    assert exc.value.field == field
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    ("beneficiary", "field", "fragment"),
    [
        ([("01", "0011001932418")], "38/01/00", "missing"),
        ([("00", "97043"), ("01", "0011001932418")], "38/01/00", "6 digits"),
        ([("00", "97043A"), ("01", "0011001932418")], "38/01/00", "6 digits"),
        ([("00", "970436")], "38/01/01", "missing"),
        ([("00", "970436"), ("01", "1" * (ACCOUNT_MAX + 1))], "38/01/01", "1..19"),
        ([("00", "970436"), ("01", "0011-001")], "38/01/01", "letters and digits"),
    ],
)
def test_bad_beneficiary(beneficiary: list[tuple[str, str]], field: str, fragment: str) -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(_payload_text(beneficiary=beneficiary))
    assert exc.value.field == field
    assert fragment in str(exc.value)


def test_account_of_nineteen_characters_is_accepted() -> None:
    account = "1" * ACCOUNT_MAX
    payload = vietqr_parse(_payload_text(beneficiary=[("00", "970436"), ("01", account)]))
    assert payload.account == account


def test_every_problem_is_reported_at_once() -> None:
    root = _root_with("53", "840")
    root = [(t, "KH" if t == "58" else v) for t, v in root]
    with pytest.raises(VietQRError) as exc:
        vietqr_parse(_payload_text(root=root))
    assert {p.field for p in exc.value.problems} == {"53", "58"}


# --- the value type and the builder ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bin": "97041"}, "38/01/00"),
        ({"account": ""}, "38/01/01"),
        ({"account": "1" * 20}, "38/01/01"),
        ({"service": SERVICE_CARD, "account": "ABC123"}, "38/01/01"),
        ({"service": "QRPUSH"}, "38/02"),
        ({"amount": 0}, "54"),
        ({"amount": -5}, "54"),
        ({"amount": 10**13}, "54"),
        ({"amount": True}, "54"),
        ({"purpose": ""}, "62/08"),
        ({"purpose": "x" * 26}, "62/08"),
        ({"purpose": "lũ lụt"}, "62/08"),
        ({"initiation": "13"}, "01"),
    ],
)
def test_payload_rejects_bad_fields(kwargs: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {"bin": "970436", "account": "0011001932418", **kwargs}
    with pytest.raises(VietQRError) as exc:
        VietQRPayload(**fields)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_vietqr_payload_derives_initiation() -> None:
    assert vietqr_payload(bin="970436", account="1").initiation == INITIATION_STATIC
    assert vietqr_payload(bin="970436", account="1", amount=1).initiation == INITIATION_DYNAMIC
    explicit = vietqr_payload(bin="970436", account="1", amount=1, initiation=INITIATION_STATIC)
    assert explicit.initiation == INITIATION_STATIC


def test_vietqr_payload_refuses_a_memo_too_long_rather_than_cutting_it() -> None:
    with pytest.raises(VietQRError) as exc:
        vietqr_payload(bin="970436", account="1", memo="Ủng hộ đồng bào miền Trung lũ lụt")
    assert exc.value.field == "62/08"


def test_vietqr_payload_treats_blank_memo_as_none() -> None:
    assert vietqr_payload(bin="970436", account="1", memo="  ").purpose is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ủng hộ đồng bào lũ lụt", "Ung ho dong bao lu lut"),
        ("ĐỖ THỊ HƯƠNG  chuyển\ttiền", "DO THI HUONG chuyen tien"),
        ("Quỹ “Cứu trợ” – Yagi", 'Quy "Cuu tro" - Yagi'),
        ("ơ ư ă â ê ô Ơ Ư Ă Â Ê Ô", "o u a a e o O U A A E O"),
        ("CT\u00a0nhanh 247", "CT nhanh 247"),
    ],
)
def test_memo_ascii(text: str, expected: str) -> None:
    assert memo_ascii(text) == expected


def test_memo_ascii_refuses_characters_without_ascii_form() -> None:
    with pytest.raises(VietQRError, match=r"U\+1F64F"):
        memo_ascii("cảm ơn 🙏")


# --- properties ---------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))

payloads = st.builds(
    VietQRPayload,
    bin=st.text("0123456789", min_size=6, max_size=6),
    account=st.text(_ALNUM, min_size=1, max_size=ACCOUNT_MAX),
    service=st.just(SERVICE_ACCOUNT),
    amount=st.none() | st.integers(min_value=1, max_value=10**13 - 1),
    purpose=st.none() | st.text(_PRINTABLE, min_size=1, max_size=PURPOSE_MAX),
    initiation=st.sampled_from([INITIATION_STATIC, INITIATION_DYNAMIC]),
) | st.builds(
    VietQRPayload,
    bin=st.text("0123456789", min_size=6, max_size=6),
    account=st.text("0123456789", min_size=1, max_size=ACCOUNT_MAX),
    service=st.just(SERVICE_CARD),
    amount=st.none() | st.integers(min_value=1, max_value=10**13 - 1),
    purpose=st.none() | st.text(_PRINTABLE, min_size=1, max_size=PURPOSE_MAX),
    initiation=st.sampled_from([INITIATION_STATIC, INITIATION_DYNAMIC]),
)

_VIETNAMESE = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
)
vietnamese_text = st.text(
    st.sampled_from(_VIETNAMESE + _VIETNAMESE.upper() + " 0123456789.,-"), max_size=40
)


@given(payloads)
def test_parse_inverts_build(payload: VietQRPayload) -> None:
    assert vietqr_parse(vietqr_build(payload)) == payload


@given(payloads)
def test_build_inverts_parse_for_built_strings(payload: VietQRPayload) -> None:
    text = vietqr_build(payload)
    assert vietqr_build(vietqr_parse(text)) == text


@given(payloads, st.data())
def test_any_single_character_change_is_caught(payload: VietQRPayload, data: st.DataObject) -> None:
    # Given a valid payload and one printable-ASCII character replaced by another
    text = vietqr_build(payload)
    index = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.sampled_from(_PRINTABLE).filter(lambda ch: ch != text[index]))
    damaged = text[:index] + replacement + text[index + 1 :]
    # Then the parser refuses it: CRC-16 catches every error burst of 16 bits or fewer
    with pytest.raises(VietQRError):
        vietqr_parse(damaged)


@given(st.text(max_size=200))
def test_parse_fails_only_with_vietqr_error(text: str) -> None:
    with contextlib.suppress(VietQRError):
        vietqr_parse(text)


_tags = st.sampled_from(["00", "01", "02", "08", "38", "53", "54", "58", "62", "63"])
_objects = st.lists(st.tuples(_tags, st.text(min_size=1, max_size=40)), max_size=8)
_inner = st.lists(st.tuples(_tags, st.text(min_size=1, max_size=40)), min_size=1, max_size=2)
_nested = st.lists(st.tuples(_tags, _inner.map(tlv_encode)), max_size=4)


@given(st.text(max_size=120) | _objects.map(tlv_encode) | _nested.map(tlv_encode))
def test_parse_of_sealed_noise_fails_only_with_vietqr_error(body: str) -> None:
    # Given text or data objects with a correct CRC, so that the field rules are what decides
    with contextlib.suppress(VietQRError):
        vietqr_parse(_sealed(body))


@given(vietnamese_text)
def test_memo_ascii_yields_printable_ascii_of_same_word_count(text: str) -> None:
    result = memo_ascii(text)
    assert result.isascii()
    assert result.isprintable()
    assert len(result.split()) == len(text.split())


@given(vietnamese_text.map(lambda t: t[:PURPOSE_MAX]))
def test_vietnamese_memos_round_trip_as_ascii(memo: str) -> None:
    payload = vietqr_payload(bin="970436", account="0011001932418", amount=10_000, memo=memo)
    parsed = vietqr_parse(vietqr_build(payload))
    assert parsed == payload
    assert parsed.purpose == (memo_ascii(memo) or None)
