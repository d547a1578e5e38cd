# ruff: noqa: DTZ001 - XLSX date cells are naive local dates, as spreadsheet programs write them
"""Donor lists in the shape provincial Fronts publish (names and accounts invented).

A title block, a header row, one row per gift with text dates, amounts as numbers or as text
led by a no-break space, a formula cell, one date cell a spreadsheet stored as a real date
with day and month swapped, and a "Tổng cộng" row summing the gifts. The files are written
at test time; what they must read as is in golden/front_*.json.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

FRONT_ACCOUNT = "1000007062914729"
"""A receiving account at the Vietnam Bank for Social Policies, which has no NAPAS BIN."""

TITLE = [
    ["ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM TỈNH YÊN BÁI"],
    ["DANH SÁCH ỦNG HỘ ĐỒNG BÀO BỊ THIỆT HẠI DO BÃO SỐ 3 (YAGI)"],
    [f"Số tài khoản: {FRONT_ACCOUNT} tại Ngân hàng Chính sách xã hội"],
    ["Từ ngày 10/09/2024 đến ngày 16/09/2024"],
    [],
]
HEADER = ["STT", "Ngày", "Đơn vị, cá nhân ủng hộ", "Số tiền", "Nội dung"]
TOTAL_LINE = 14
"""The sheet row (and CSV line) of the "Tổng cộng" row."""


def _gifts() -> list[list[object]]:
    return [
        [1, "10/09/2024", "NGUYEN VAN AN", "\u00a0500.000", "FRONTYB ung ho bao Yagi"],
        [2, "11/09/2024", "CONG TY TNHH AN PHAT", 10_000_000, "FRONTYB ung ho lu lut"],
        # Typed 12/09/2024, stored by the spreadsheet as 9 December 2024.
        [3, datetime(2024, 12, 9), "TRAN THI BINH", "\u202f2.000.000", "FRONTYB ung ho"],
        [4, "13/09/2024", "LE VAN CUONG", "1\u00a0500\u00a0000", "FRONTYB ung ho"],
        [5, "14/09/2024", "HOI PHU NU XA", "=2*500000", "FRONTYB ung ho dong bao"],
        # A real date cell that is right: inside the period, no correction.
        [6, datetime(2024, 9, 15), "PHAM VAN DUNG", 300_000, "FRONTYB ung ho"],
        [7, "16/09/2024", "BUI THI EM", "\u00a050.000", "FRONTYB ung ho"],
    ]


def front_xlsx(
    path: Path, *, total: int = 15_350_000, total_cached: bool = True, formula_cached: bool = True
) -> Path:
    """The donor list as XLSX. The formula cells hold the values a spreadsheet program saves
    with them (`total` for the total row) unless `*_cached` is false."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in TITLE:
        sheet.append(row)
    sheet.append(HEADER)
    for row in _gifts():
        sheet.append(row)
    sheet.append(["Tổng cộng", None, None, f"=SUM(D7:D{TOTAL_LINE - 1})", None])
    raw = io.BytesIO()
    book.save(raw)
    cached = {
        "D11": 1_000_000 if formula_cached else None,
        f"D{TOTAL_LINE}": total if total_cached else None,
    }
    path.write_bytes(_with_cached_values(raw.getvalue(), cached))
    return path


def _with_cached_values(xlsx: bytes, values: dict[str, int | None]) -> bytes:
    """`xlsx` with the saved value of each formula cell in `values` (None: left empty)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in values.items():
                    if value is None:
                        continue
                    text, n = re.subn(
                        rf'(<c r="{ref}"[^>]*><f>[^<]*</f>)<v\s*/>', rf"\g<1><v>{value}</v>", text
                    )
                    assert n == 1, ref
                data = text.encode()
            dst.writestr(item, data)
    return out.getvalue()


def front_csv(path: Path, *, total: str = "15.350.000", label: str = "Cộng") -> Path:
    """The donor list as the CSV a spreadsheet program exports (dates and formulas as text
    values; the swapped date as the program shows it)."""
    rows = [*TITLE, HEADER]
    for row in _gifts():
        cells = list(row)
        if isinstance(cells[1], datetime):
            # A CSV holds text only; the export shows the date as typed.
            cells[1] = "12/09/2024" if cells[1].month == 12 else f"{cells[1]:%d/%m/%Y}"
        if cells[3] == "=2*500000":
            cells[3] = "1.000.000"
        rows.append(cells)
    rows.append([label, "", "", total, ""])
    out = io.StringIO()
    for row in rows:
        out.write(",".join(_csv_cell(c) for c in row) + "\n")
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f'"{text}"' if "," in text or '"' in text else text
