"""QR code images of a payload string, as SVG or PNG bytes (ISO/IEC 18004 symbols via segno).

Error correction is level M (15% recovery), fixed rather than boosted, so the same payload always
gives the same symbol; output is byte-for-byte deterministic (no timestamps or random IDs). The
quiet zone defaults to the 4 modules ISO/IEC 18004 requires; scanners in banks' apps fail more
often without it.
"""

from __future__ import annotations

import io
from typing import Final

import segno

__all__ = ["QUIET_ZONE", "qr_png", "qr_svg"]

QUIET_ZONE: Final = 4
_ERROR_LEVEL: Final = "m"


def _symbol(payload: str) -> segno.QRCode:
    if not payload:
        msg = "payload is empty"
        raise ValueError(msg)
    return segno.make_qr(payload, error=_ERROR_LEVEL, boost_error=False)


def qr_png(payload: str, *, scale: int = 8, border: int = QUIET_ZONE) -> bytes:
    """A 1-bit greyscale PNG of `payload`, `scale` pixels per module."""
    if scale < 1 or border < 0:
        msg = f"scale must be >= 1 and border >= 0, got {scale} and {border}"
        raise ValueError(msg)
    out = io.BytesIO()
    _symbol(payload).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(
    payload: str,
    *,
    title: str = "VietQR payment code",
    desc: str | None = None,
    border: int = QUIET_ZONE,
) -> bytes:
    """A UTF-8 SVG of `payload` that scales to its container (viewBox, no width or height).

    `title` (and `desc`, if given) become the image's accessible name and description; the root
    element carries role="img". No XML declaration, so the bytes can be served as a file or
    inlined into HTML.
    """
    if border < 0:
        msg = f"border must be >= 0, got {border}"
        raise ValueError(msg)
    out = io.BytesIO()
    _symbol(payload).save(
        out,
        kind="svg",
        border=border,
        title=title,
        desc=desc,
        xmldecl=False,
        omitsize=True,
        svgclass="qr",
        lineclass="qr-dark",
        encoding="utf-8",
    )
    svg = out.getvalue()
    assert svg.startswith(b"<svg "), "segno's SVG starts with the root element"
    return b'<svg role="img" ' + svg.removeprefix(b"<svg ")
