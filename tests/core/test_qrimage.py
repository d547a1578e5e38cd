"""QR images: a real decoder (zxing-cpp) must read back the exact payload from the PNG."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from solidarity.core.qrimage import qr_png, qr_svg
from solidarity.core.vietqr import SERVICE_CARD, vietqr_build, vietqr_parse, vietqr_payload

PAYLOADS = [
    # static, no amount, no memo
    vietqr_build(vietqr_payload(bin="970436", account="0011001932418")),
    # dynamic with amount and a Vietnamese memo (diacritics stripped when built)
    vietqr_build(
        vietqr_payload(bin="970415", account="0011001932418", amount=120_000, memo="ủng hộ lũ lụt")
    ),
    vietqr_build(
        vietqr_payload(
            bin="970422", account="0023457923442", amount=5_000_000, memo="Ủng hộ đồng bào Yagi"
        )
    ),
    # largest amount and longest account and memo NAPAS allows
    vietqr_build(
        vietqr_payload(
            bin="970418",
            account="1234567890123456789",
            amount=9_999_999_999_999,
            memo="ĐỖ THỊ HƯƠNG chuyển tiền",
        )
    ),
    # the smallest gift, to a card
    vietqr_build(
        vietqr_payload(bin="970403", account="9704031101234567", service=SERVICE_CARD, amount=1)
    ),
    # a published vector (NAPAS spec 6.1.3), with a bill number in 62/01
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN"
    "62340107NPS68690819thanh toan don hang63042E2E",
]


def _decode_png(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as image:
        barcode = zxingcpp.read_barcode(image)
    assert barcode is not None, "zxing-cpp found no barcode"
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.valid
    return str(barcode.text)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_png_decodes_to_the_exact_payload(payload: str) -> None:
    decoded = _decode_png(qr_png(payload))
    assert decoded == payload
    # The decoded text is itself a valid VietQR payload
    vietqr_parse(decoded)


@pytest.mark.parametrize("scale", [2, 4, 10])
def test_png_decodes_at_other_scales(scale: int) -> None:
    assert _decode_png(qr_png(PAYLOADS[1], scale=scale)) == PAYLOADS[1]


def test_png_uses_error_correction_m_and_quiet_zone() -> None:
    barcode = zxingcpp.read_barcode(Image.open(io.BytesIO(qr_png(PAYLOADS[1]))))
    assert barcode is not None
    assert barcode.ec_level == "M"
    with Image.open(io.BytesIO(qr_png(PAYLOADS[1], scale=8))) as image:
        # 4 light modules of 8 pixels around the symbol
        corner = image.convert("L").crop((0, 0, 32, 32))
        assert corner.getextrema() == (255, 255)


def test_output_is_deterministic() -> None:
    assert qr_png(PAYLOADS[2]) == qr_png(PAYLOADS[2])
    assert qr_svg(PAYLOADS[2], title="t") == qr_svg(PAYLOADS[2], title="t")
    assert b"tIME" not in qr_png(PAYLOADS[2])


def test_svg_is_accessible_and_scalable() -> None:
    svg = qr_svg(
        PAYLOADS[1], title="VietQR: Vietinbank 0011001932418, 120.000 ₫", desc="Quét & <chuyển>"
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox")
    assert root.get("width") is None
    children = list(root)
    assert children[0].tag == f"{ns}title"
    assert children[0].text == "VietQR: Vietinbank 0011001932418, 120.000 ₫"
    assert children[1].tag == f"{ns}desc"
    assert children[1].text == "Quét & <chuyển>"
    assert not svg.startswith(b"<?xml")


def test_svg_renders_the_same_symbol_as_png() -> None:
    # Given the SVG's path (segno writes absolute/relative moves and horizontal runs) drawn
    # at 8 px per module
    root = ET.fromstring(qr_svg(PAYLOADS[0]))
    size = int(root.get("viewBox", "").split()[2])
    path = next(el for el in root.iter() if el.tag.endswith("path"))
    image = Image.new("L", (size * 8, size * 8), 255)
    x = y = 0.0
    for op, first, second in re.findall(r"([Mmh])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", path.get("d", "")):
        if op == "M":
            x, y = float(first), float(second)
        elif op == "m":
            x, y = x + float(first), y + float(second)
        else:
            end = x + float(first)
            image.paste(
                0, (round(x * 8), round((y - 0.5) * 8), round(end * 8), round((y + 0.5) * 8))
            )
            x = end
    # Then a decoder reads the same payload from it
    assert _decode_png(_to_png(image)) == PAYLOADS[0]


def _to_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_empty_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        qr_png("")
    with pytest.raises(ValueError, match="scale"):
        qr_png("x", scale=0)
