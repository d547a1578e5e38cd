# ruff: noqa: DTZ001 - XLSX date cells are naive local dates
"""Donor lists published by provincial Fronts: title rows, a total row that is a check, formula
cells, amounts with Unicode spaces, and date cells stored with day and month swapped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
from tests.core.statements.front_files import FRONT_ACCOUNT, TOTAL_LINE, front_csv, front_xlsx
from tests.core.statements.statement_helpers import golden_compare

from solidarity.core.statements import (
    BankTransaction,
    StatementRejected,
    profile_parse,
    statement_read,
)
from solidarity.core.statements.tabular import swap_fits


def read(path: Path) -> list[BankTransaction]:
    return list(statement_read(path, name=path.name))


def refusal(path: Path) -> list[str]:
    with pytest.raises(StatementRejected) as caught:
        read(path)
    return [str(e) for e in caught.value.errors]


def test_front_xlsx_reads_as_its_golden_file(tmp_path: Path) -> None:
    txs = read(front_xlsx(tmp_path / "front.xlsx"))
    golden_compare("front/front.xlsx", txs)
    # The total row is a check, not a gift; every gift is on the titled account
    assert len(txs) == 7
    assert sum(t.amount_minor for t in txs) == 15_350_000
    assert {t.account for t in txs} == {FRONT_ACCOUNT}
    # The swapped date cell is booked as typed, with a warning naming the cell
    swapped = next(t for t in txs if t.line == 9)
    assert swapped.booked_at.date() == date(2024, 9, 12)
    (warning,) = swapped.warnings
    assert (warning.line, warning.field) == (9, "date")
    assert "cell B9" in warning.message
    assert "09/12/2024" in warning.message
    assert "12/09/2024" in warning.message
    # A real date cell that fits its neighbours is left alone, silently
    right = next(t for t in txs if t.line == 12)
    assert right.booked_at.date() == date(2024, 9, 15)
    assert right.warnings == ()
    assert [t.line for t in txs if t.warnings] == [9]


def test_front_csv_reads_as_its_golden_file(tmp_path: Path) -> None:
    txs = read(front_csv(tmp_path / "front.csv"))
    golden_compare("front/front.csv", txs)
    assert [t.amount_minor for t in txs] == [
        500_000, 10_000_000, 2_000_000, 1_500_000, 1_000_000, 300_000, 50_000,
    ]  # fmt: skip
    assert not any(t.warnings for t in txs)


@pytest.mark.parametrize("label", ["Cộng", "Tổng cộng", "TỔNG SỐ", "Total", ""])
def test_a_total_row_that_adds_up_is_accepted_whatever_its_label(
    tmp_path: Path, label: str
) -> None:
    txs = read(front_csv(tmp_path / "front.csv", label=label))
    assert len(txs) == 7


@pytest.mark.parametrize("label", ["Cộng", ""])
def test_a_total_row_that_does_not_add_up_is_an_error_at_its_line(
    tmp_path: Path, label: str
) -> None:
    errors = refusal(front_csv(tmp_path / "front.csv", total="15.300.000", label=label))
    said = (
        "the total row says"
        if label
        else "a row with an amount but no date is not a transaction; as a total it says"
    )
    assert errors == [
        f"front.csv:{TOTAL_LINE}: amount: {said} 15,300,000 VND but the 7 rows "
        "above it add up to 15,350,000 VND"
    ]


def test_a_wrong_total_in_xlsx_is_an_error_at_its_row(tmp_path: Path) -> None:
    errors = refusal(front_xlsx(tmp_path / "front.xlsx", total=15_350_001))
    assert errors == [
        f"front.xlsx:{TOTAL_LINE}: amount: the total row says 15,350,001 VND but the 7 rows "
        "above it add up to 15,350,000 VND"
    ]


def test_a_formula_without_its_saved_value_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    errors = refusal(front_xlsx(tmp_path / "front.xlsx", formula_cached=False))
    assert len(errors) == 1
    assert errors[0].startswith("front.xlsx:11: amount: cell D11 holds the formula '=2*500000'")
    assert "save it again" in errors[0]


def test_a_formula_in_a_column_the_statement_does_not_read_is_ignored(tmp_path: Path) -> None:
    path = front_xlsx(tmp_path / "front.xlsx")
    book = openpyxl.load_workbook(path)
    book.active["F7"] = "=A7+1"  # a helper column, saved by openpyxl without a value
    book.active["D11"] = 1_000_000
    book.active[f"D{TOTAL_LINE}"] = 15_350_000
    book.save(path)
    assert len(read(path)) == 7


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("\u00a0500.000", 500_000),
        ("500.000\u00a0", 500_000),
        ("\u2007\u2009500.000\u202f", 500_000),
        ("\ufeff500.000", 500_000),
        ("1\u00a0500\u00a0000", 1_500_000),
        ("1\u202f500\u202f000", 1_500_000),
        ("1 500 000", 1_500_000),
    ],
)
def test_amounts_with_unicode_spaces(tmp_path: Path, text: str, minor: int) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        f"Số tài khoản: {FRONT_ACCOUNT}\nNgày,Số tiền,Nội dung\n10/09/2024,{text},ung ho\n",
        encoding="utf-8",
    )
    (tx,) = read(path)
    assert tx.amount_minor == minor


@pytest.mark.parametrize("text", ["1\u00a050\u00a0000", "1 5000", "5\u00a0\u00a0000x"])
def test_spaces_that_do_not_group_digits_by_three_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        f"Số tài khoản: {FRONT_ACCOUNT}\nNgày,Số tiền,Nội dung\n10/09/2024,{text},ung ho\n",
        encoding="utf-8",
    )
    (error,) = refusal(path)
    assert error.startswith("s.csv:3: amount: impossible amount")


def _sheet(path: Path, rows: list[list[object]], title: str | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"Số tài khoản: {FRONT_ACCOUNT}"])
    if title:
        sheet.append([title])
    sheet.append(["Ngày", "Số tiền", "Nội dung"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_swapped_date_is_found_from_the_neighbours_without_a_period(tmp_path: Path) -> None:
    from datetime import datetime

    rows = [
        ["04/03/2024", 100, "a"],
        [datetime(2024, 5, 3), 200, "b"],  # typed 05/03/2024
        ["06/03/2024", 300, "c"],
    ]
    txs = read(_sheet(tmp_path / "s.xlsx", rows))
    assert [t.booked_at.date() for t in txs] == [
        date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6),
    ]  # fmt: skip
    assert [len(t.warnings) for t in txs] == [0, 1, 0]


def test_a_date_whose_swap_fits_no_better_is_kept_without_warning(tmp_path: Path) -> None:
    from datetime import datetime

    rows = [
        ["04/03/2024", 100, "a"],
        [datetime(2024, 8, 1), 200, "b"],  # odd, but its swap (8 January) is no closer
        ["06/03/2024", 300, "c"],
    ]
    txs = read(_sheet(tmp_path / "s.xlsx", rows))
    assert txs[1].booked_at.date() == date(2024, 8, 1)
    assert not any(t.warnings for t in txs)


def test_a_lone_date_cell_is_never_guessed(tmp_path: Path) -> None:
    from datetime import datetime

    txs = read(_sheet(tmp_path / "s.xlsx", [[datetime(2024, 5, 3), 200, "b"]]))
    assert txs[0].booked_at.date() == date(2024, 5, 3)
    assert txs[0].warnings == ()


@pytest.mark.parametrize(
    ("day", "swapped", "before", "after", "period", "fits"),
    [
        # outside the neighbours, its swap between them
        (date(2024, 12, 9), date(2024, 9, 12), date(2024, 9, 11), date(2024, 9, 13), None, True),
        # one neighbour: the swap within a week of it
        (date(2024, 12, 9), date(2024, 9, 12), date(2024, 9, 11), None, None, True),
        (date(2024, 12, 9), date(2024, 9, 12), None, date(2024, 9, 30), None, False),
        # the period alone decides when there is no neighbour
        (
            date(2024, 12, 9),
            date(2024, 9, 12),
            None,
            None,
            (date(2024, 9, 1), date(2024, 9, 30)),
            True,
        ),
        (
            date(2024, 9, 12),
            date(2024, 12, 9),
            None,
            None,
            (date(2024, 9, 1), date(2024, 9, 30)),
            False,
        ),
        # both inside: nothing to correct; neither: nothing known
        (date(2024, 9, 10), date(2024, 10, 9), date(2024, 9, 1), date(2024, 10, 30), None, False),
        (date(2025, 12, 9), date(2025, 9, 12), date(2024, 9, 11), date(2024, 9, 13), None, False),
        # nothing to compare with: never a guess
        (date(2024, 12, 9), date(2024, 9, 12), None, None, None, False),
    ],
)
def test_swap_fits(day, swapped, before, after, period, fits) -> None:
    assert swap_fits(day, swapped, before=before, after=after, period=period) is fits


@pytest.mark.parametrize(
    ("bank", "key"),
    [("970422", "970422"), ("MB", "970422"), ("MSCBVNVX", "970422"), ("VBSP", "VBSP")],
)
def test_a_profile_names_its_bank_by_bin_code_or_swift(bank: str, key: str) -> None:
    assert profile_parse(f'[statement]\nbin = "{bank}"\n').bin == key


def test_a_profile_naming_an_unknown_bank_is_refused() -> None:
    with pytest.raises(StatementRejected) as caught:
        profile_parse('[statement]\nbin = "NOPE"\n', name="p.toml")
    (error,) = caught.value.errors
    assert (error.file, error.field) == ("p.toml", "statement.bin")
    assert "unknown bank 'NOPE'" in error.message
