"""VietQR payloads: NAPAS bank-transfer QR codes on EMVCo merchant-presented QR.

Implements
- EMV® QR Code Specification for Payment Systems, Merchant-Presented Mode (EMV QRCPS-MPM)
  v1.1, 11/2020: every data object is a two-digit ID, a two-digit length ("01"-"99", counted in
  characters) and the value; templates (IDs 26-51, 62) nest the same format; ID "00" (payload
  format indicator) comes first and ID "63" (CRC) last. The CRC is CRC-16/CCITT-FALSE (ISO/IEC
  13239: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR) over every
  character before the CRC value, "6304" included, written as four uppercase hex digits.
- NAPAS "Quy định định dạng mã VietQR" v1.0 (09/2021), as restated by NAPAS IBFT v1.5.x
  guides: ID "38" holds "00" = GUID A000000727, "01" = beneficiary organization ("00" = acquirer
  BIN, six digits; "01" = account or card number, up to 19 characters) and "02" = service code
  QRIBFTTA (to an account) or QRIBFTTC (to a card); "53" = 704 (VND), "58" = VN, "54" = amount
  (up to 13 characters), "62"/"08" = purpose of transaction (up to 25 characters). The spec's
  §6.1 examples are test vectors; two of them are broken (see shared testdata SOURCES.md).

Fields the platform does not use (other "62" sub-objects, "52", "59", "60", "64", ...) are
checked for structure and dropped, so `vietqr_build(vietqr_parse(text))` equals `text` only when
the text carries nothing beyond what `VietQRPayload` holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ACCOUNT_MAX",
    "AMOUNT_MAX_DIGITS",
    "GUID_NAPAS",
    "INITIATION_DYNAMIC",
    "INITIATION_STATIC",
    "PURPOSE_MAX",
    "SERVICE_ACCOUNT",
    "SERVICE_CARD",
    "VietQRError",
    "VietQRPayload",
    "VietQRProblem",
    "crc16_ccitt_false",
    "memo_ascii",
    "tlv_decode",
    "tlv_encode",
    "vietqr_build",
    "vietqr_parse",
    "vietqr_payload",
]

GUID_NAPAS: Final = "A000000727"
SERVICE_ACCOUNT: Final = "QRIBFTTA"
SERVICE_CARD: Final = "QRIBFTTC"
INITIATION_STATIC: Final = "11"
INITIATION_DYNAMIC: Final = "12"
ACCOUNT_MAX: Final = 19
PURPOSE_MAX: Final = 25
AMOUNT_MAX_DIGITS: Final = 13

_FORMAT_INDICATOR: Final = "01"
_CURRENCY_VND: Final = "704"
_COUNTRY_VN: Final = "VN"
_CRC_TAG: Final = "6304"
_SERVICES: Final = frozenset({SERVICE_ACCOUNT, SERVICE_CARD})
_INITIATIONS: Final = frozenset({INITIATION_STATIC, INITIATION_DYNAMIC})
# 62 sub-objects 01-08 (bill number ... purpose) are "ans, var. up to 25".
_ADDITIONAL_SHORT: Final = frozenset(f"{n:02d}" for n in range(1, 9))

_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_HEX4 = re.compile(r"[0-9A-F]{4}")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


@dataclass(frozen=True, slots=True)
class VietQRProblem:
    """One thing wrong with a payload; `field` is the ID path ("38/01/01"), "" for the whole."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class VietQRError(ValueError):
    """A payload or a payload's field is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[VietQRProblem]) -> None:
        self.problems: tuple[VietQRProblem, ...] = tuple(problems)
        assert self.problems, "VietQRError needs at least one problem"
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def field(self) -> str:
        """The ID path of the first problem."""
        return self.problems[0].field


def _fail(field: str, message: str) -> VietQRError:
    return VietQRError([VietQRProblem(field, message)])


def _show(value: str, limit: int = 30) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


# --- CRC and TLV -------------------------------------------------------------------------------


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, unreflected, xorout 0 (check 0x29B1)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _crc_hex(text: str) -> str:
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def tlv_encode(objects: Iterable[tuple[str, str]], *, path: str = "") -> str:
    """Concatenate (ID, value) data objects; raises VietQRError on a bad ID or length."""
    parts: list[str] = []
    for tag, value in objects:
        field = f"{path}/{tag}" if path else tag
        if len(tag) != 2 or not tag.isascii() or not tag.isdigit():
            raise _fail(field, "an ID is two digits")
        if not 1 <= len(value) <= 99:
            raise _fail(field, f"value length {len(value)} is outside 1..99")
        parts.append(f"{tag}{len(value):02d}{value}")
    return "".join(parts)


def tlv_decode(text: str, *, path: str = "") -> list[tuple[str, str]]:
    """Split `text` into (ID, value) data objects, in order.

    Raises VietQRError naming the object whose ID or declared length does not fit; `path` is the
    ID path of the enclosing template, used in those names.
    """
    objects: list[tuple[str, str]] = []
    where = path or "payload"
    pos = 0
    while pos < len(text):
        header = text[pos : pos + 4]
        if len(header) < 4:
            last = objects[-1][0] if objects else None
            culprit = f"{path}/{last}" if path and last else (last or path)
            raise _fail(
                culprit,
                f"declared length leaves {len(header)} stray character(s) {_show(header)} "
                f"at the end of {where}",
            )
        tag, size = header[:2], header[2:]
        field = f"{path}/{tag}" if path else tag
        if not (tag.isascii() and tag.isdigit()):
            raise _fail(path, f"{_show(tag)} at offset {pos} of {where} is not a two-digit ID")
        if not (size.isascii() and size.isdigit()) or size == "00":
            raise _fail(field, f"length {_show(size)} is not two digits in 01..99")
        end = pos + 4 + int(size)
        if end > len(text):
            raise _fail(
                field,
                f"declared length {int(size)} but only {len(text) - pos - 4} character(s) remain "
                f"in {where}",
            )
        objects.append((tag, text[pos + 4 : end]))
        pos = end
    return objects


# --- field rules (shared by the dataclass and the parser) --------------------------------------


def _bin_problem(value: str) -> str | None:
    if len(value) != 6 or not _DIGITS.fullmatch(value):
        return f"bank BIN must be 6 digits, got {_show(value)}"
    return None


def _account_problem(value: str, service: str) -> str | None:
    if not 1 <= len(value) <= ACCOUNT_MAX:
        return f"account/card number must be 1..{ACCOUNT_MAX} characters, got {len(value)}"
    if service == SERVICE_CARD and not _DIGITS.fullmatch(value):
        return f"card number must be digits, got {_show(value)}"
    if not _ALNUM.fullmatch(value):
        return f"account number must be letters and digits, got {_show(value)}"
    return None


def _service_problem(value: str) -> str | None:
    if value not in _SERVICES:
        return f"service code must be {SERVICE_ACCOUNT} or {SERVICE_CARD}, got {_show(value)}"
    return None


def _amount_problem(value: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"amount must be an integer count of dong, got {type(value).__name__}"
    if value <= 0:
        return f"amount must be positive, got {value}"
    if len(str(value)) > AMOUNT_MAX_DIGITS:
        return f"amount must have at most {AMOUNT_MAX_DIGITS} digits, got {len(str(value))}"
    return None


def _purpose_problem(value: str) -> str | None:
    if not 1 <= len(value) <= PURPOSE_MAX:
        return f"purpose must be 1..{PURPOSE_MAX} characters, got {len(value)}"
    if not _PRINTABLE_ASCII.fullmatch(value):
        return f"purpose must be printable ASCII, got {_show(value)}"
    return None


def _initiation_problem(value: str) -> str | None:
    if value not in _INITIATIONS:
        return (
            f"point of initiation must be {INITIATION_STATIC} (static) or "
            f"{INITIATION_DYNAMIC} (dynamic), got {_show(value)}"
        )
    return None


@dataclass(frozen=True, slots=True)
class VietQRPayload:
    """What a VietQR transfer code says. Construction validates every field (VietQRError).

    `amount` is in dong (VND has no minor unit below it); `purpose` is printable ASCII, at most
    25 characters (use `vietqr_payload` to derive it from Vietnamese text).
    """

    bin: str
    account: str
    service: str = SERVICE_ACCOUNT
    amount: int | None = None
    purpose: str | None = None
    initiation: str = INITIATION_STATIC

    def __post_init__(self) -> None:
        checks: list[tuple[str, str | None]] = [
            ("01", _initiation_problem(self.initiation)),
            ("38/01/00", _bin_problem(self.bin)),
            ("38/01/01", _account_problem(self.account, self.service)),
            ("38/02", _service_problem(self.service)),
        ]
        if self.amount is not None:
            checks.append(("54", _amount_problem(self.amount)))
        if self.purpose is not None:
            checks.append(("62/08", _purpose_problem(self.purpose)))
        problems = [VietQRProblem(field, message) for field, message in checks if message]
        if problems:
            raise VietQRError(problems)


# --- memo normalization ------------------------------------------------------------------------

# NFKD leaves these without an ASCII form; banks' apps handle the plain forms.
_ASCII_FALLBACK: Final = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
    }
)


def memo_ascii(text: str) -> str:
    """Vietnamese text as printable ASCII: diacritics removed, whitespace runs made one space.

    "Ủng hộ đồng bào lũ lụt" -> "Ung ho dong bao lu lut". Raises VietQRError (field "62/08")
    for a character with no ASCII form, such as an emoji or a CJK character.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FALLBACK))
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    collapsed = " ".join(kept.split())
    bad = sorted({ch for ch in collapsed if not _PRINTABLE_ASCII.fullmatch(ch)})
    if bad:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in bad)
        raise _fail("62/08", f"no ASCII form for {shown}")
    return collapsed


def vietqr_payload(
    *,
    bin: str,  # noqa: A002 -- the NAPAS field name; this module never needs builtins.bin
    account: str,
    service: str = SERVICE_ACCOUNT,
    amount: int | None = None,
    memo: str | None = None,
    initiation: str | None = None,
) -> VietQRPayload:
    """A payload from user input: `memo` goes through `memo_ascii`; an empty memo means none.

    `initiation` defaults to dynamic ("12") with an amount and static ("11") without one.
    Raises VietQRError listing every invalid field (a memo over 25 characters is refused, not
    cut, since campaign matching reads it).
    """
    purpose = memo_ascii(memo) if memo is not None else None
    if initiation is None:
        initiation = INITIATION_DYNAMIC if amount is not None else INITIATION_STATIC
    return VietQRPayload(
        bin=bin,
        account=account,
        service=service,
        amount=amount,
        purpose=purpose or None,
        initiation=initiation,
    )


# --- build and parse ---------------------------------------------------------------------------


def vietqr_build(payload: VietQRPayload) -> str:
    """The payload string for `payload`: IDs 00, 01, 38, 53, [54], 58, [62], 63, in that order."""
    beneficiary = tlv_encode([("00", payload.bin), ("01", payload.account)], path="38/01")
    merchant = tlv_encode(
        [("00", GUID_NAPAS), ("01", beneficiary), ("02", payload.service)], path="38"
    )
    objects = [
        ("00", _FORMAT_INDICATOR),
        ("01", payload.initiation),
        ("38", merchant),
        ("53", _CURRENCY_VND),
    ]
    if payload.amount is not None:
        objects.append(("54", str(payload.amount)))
    objects.append(("58", _COUNTRY_VN))
    if payload.purpose is not None:
        objects.append(("62", tlv_encode([("08", payload.purpose)], path="62")))
    body = tlv_encode(objects) + _CRC_TAG
    return body + _crc_hex(body)


def _unique(
    objects: Sequence[tuple[str, str]], path: str, problems: list[VietQRProblem]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag, value in objects:
        field = f"{path}/{tag}" if path else tag
        if tag in found:
            problems.append(VietQRProblem(field, "appears more than once"))
        else:
            found[tag] = value
    return found


def _template(value: str, path: str, problems: list[VietQRProblem]) -> dict[str, str] | None:
    try:
        objects = tlv_decode(value, path=path)
    except VietQRError as exc:
        problems.extend(exc.problems)
        return None
    return _unique(objects, path, problems)


def _require(found: dict[str, str], tag: str, path: str, problems: list[VietQRProblem]) -> str:
    if tag not in found:
        field = f"{path}/{tag}" if path else tag
        problems.append(VietQRProblem(field, "mandatory field is missing"))
        return ""
    return found[tag]


def _unexpected(
    found: dict[str, str], allowed: Iterable[str], path: str, problems: list[VietQRProblem]
) -> None:
    allowed_set = set(allowed)
    for tag in found:
        if tag not in allowed_set:
            problems.append(VietQRProblem(f"{path}/{tag}", f"not a field of {path}"))


def _check(problems: list[VietQRProblem], field: str, message: str | None) -> None:
    if message:
        problems.append(VietQRProblem(field, message))


def vietqr_parse(text: str) -> VietQRPayload:
    """Read a VietQR payload string; raises VietQRError naming each bad field and why.

    The CRC is checked first, so a damaged scan reports "63" rather than whatever the damage
    made of the fields.
    """
    if len(text) < 8 or text[-8:-4] != _CRC_TAG:
        raise _fail("63", "missing: a payload ends with 6304 and four hex digits")
    declared = text[-4:]
    if not _HEX4.fullmatch(declared):
        raise _fail("63", f"CRC must be four uppercase hex digits, got {_show(declared)}")
    computed = _crc_hex(text[:-4])
    if declared != computed:
        raise _fail("63", f"bad CRC: payload says {declared}, content gives {computed}")

    objects = tlv_decode(text)
    if objects[0][0] != "00":
        raise _fail("00", f"payload format indicator must come first, found {objects[0][0]}")
    if objects[-1][0] != "63":
        raise _fail("63", "CRC must be the last field")

    problems: list[VietQRProblem] = []
    root = _unique(objects, "", problems)

    if (fmt := _require(root, "00", "", problems)) and fmt != _FORMAT_INDICATOR:
        problems.append(VietQRProblem("00", f"payload format must be 01, got {_show(fmt)}"))
    if initiation := _require(root, "01", "", problems):
        _check(problems, "01", _initiation_problem(initiation))
    if (currency := _require(root, "53", "", problems)) and currency != _CURRENCY_VND:
        problems.append(VietQRProblem("53", f"currency must be 704 (VND), got {_show(currency)}"))
    if (country := _require(root, "58", "", problems)) and country != _COUNTRY_VN:
        problems.append(VietQRProblem("58", f"country must be VN, got {_show(country)}"))

    bank_bin = account = service = ""
    if (merchant_raw := _require(root, "38", "", problems)) and (
        merchant := _template(merchant_raw, "38", problems)
    ) is not None:
        _unexpected(merchant, ("00", "01", "02"), "38", problems)
        if (guid := _require(merchant, "00", "38", problems)) and guid != GUID_NAPAS:
            problems.append(VietQRProblem("38/00", f"GUID must be {GUID_NAPAS}, got {_show(guid)}"))
        if service := _require(merchant, "02", "38", problems):
            _check(problems, "38/02", _service_problem(service))
        if (beneficiary_raw := _require(merchant, "01", "38", problems)) and (
            beneficiary := _template(beneficiary_raw, "38/01", problems)
        ) is not None:
            _unexpected(beneficiary, ("00", "01"), "38/01", problems)
            if bank_bin := _require(beneficiary, "00", "38/01", problems):
                _check(problems, "38/01/00", _bin_problem(bank_bin))
            if account := _require(beneficiary, "01", "38/01", problems):
                _check(problems, "38/01/01", _account_problem(account, service))

    amount: int | None = None
    if (amount_raw := root.get("54")) is not None:
        if "." in amount_raw:
            problems.append(VietQRProblem("54", f"VND amounts have no decimals: {amount_raw!r}"))
        elif len(amount_raw) > AMOUNT_MAX_DIGITS or not _DIGITS.fullmatch(amount_raw):
            problems.append(
                VietQRProblem(
                    "54", f"amount must be 1..{AMOUNT_MAX_DIGITS} digits, got {_show(amount_raw)}"
                )
            )
        else:
            amount = int(amount_raw)
            _check(problems, "54", _amount_problem(amount))

    purpose: str | None = None
    if (extra_raw := root.get("62")) is not None and (
        extra := _template(extra_raw, "62", problems)
    ) is not None:
        for tag, value in extra.items():
            if tag in _ADDITIONAL_SHORT and len(value) > PURPOSE_MAX:
                problems.append(
                    VietQRProblem(
                        f"62/{tag}", f"at most {PURPOSE_MAX} characters, got {len(value)}"
                    )
                )
        if (purpose := extra.get("08")) is not None:
            _check(problems, "62/08", _purpose_problem(purpose))

    if problems:
        raise VietQRError(problems)
    return VietQRPayload(
        bin=bank_bin,
        account=account,
        service=service,
        amount=amount,
        purpose=purpose,
        initiation=initiation,
    )
