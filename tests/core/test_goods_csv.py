"""Goods received from a CSV file: what a well-formed file yields, and every error a bad one
gets, with its file, line and field (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.money import Money
from solidarity.core.report import count_format, day_format, quantity_format
from solidarity.core.tranches import goods_csv_parse, item_parse_local

GOOD = (
    "date,donor,donor_kind,privacy,item,quantity,unit,unit_value,total,gift,note,evidence\n"
    "10/09/2025,Công ty Dược ABC,organization,,thuốc hạ sốt,10.000,hộp,150.000,,A,,phieu.pdf\n"
    "10/09/2025,Công ty Dược ABC,organization,,khẩu trang,2.000,hộp,,100.000.000,A,,\n"
    '2025-09-12,Nguyễn Văn An,person,masked,đường,"2,5",tấn,20.000.000,50.000.000,,,\n'
)


def test_a_good_file_groups_rows_into_gifts():
    gifts, errors = goods_csv_parse(GOOD, file="goods.csv", currency="VND", locale="vi")
    assert errors == []
    medicine, sugar = gifts
    assert (medicine.line, medicine.received_on, medicine.donor) == (
        2,
        date(2025, 9, 10),
        "Công ty Dược ABC",
    )
    assert [(i.item, i.quantity, i.unit_value) for i in medicine.items] == [
        ("thuốc hạ sốt", Decimal("10000"), Money(150_000, "VND")),
        ("khẩu trang", Decimal("2000"), Money(50_000, "VND")),  # from the stated total
    ]
    assert medicine.evidence == ("phieu.pdf",)
    assert (sugar.line, sugar.donor_kind, sugar.privacy) == (4, "person", "masked")
    assert sugar.items[0].quantity == Decimal("2.5")
    assert sugar.items[0].total == Money(50_000_000, "VND")


def test_english_numbers_and_semicolons():
    text = "Date;Donor;Item;Quantity;Unit;Unit value\n2025-09-01;Org;rice;1,500.5;kg;12.50\n"
    gifts, errors = goods_csv_parse(text, file="g.csv", currency="USD", locale="en")
    assert errors == []
    assert gifts[0].items[0].quantity == Decimal("1500.5")
    assert gifts[0].items[0].unit_value == Money(1250, "USD")


def _errors(text: str, locale: str = "vi") -> list[tuple[int, str]]:
    _gifts, errors = goods_csv_parse(text, file="bad.csv", currency="VND", locale=locale)
    assert all(e.file == "bad.csv" for e in errors)
    return [(e.line, e.field) for e in errors]


def test_every_bad_row_is_named_by_line_and_field():
    text = (
        "date,donor,donor_kind,privacy,item,quantity,unit,unit_value,total,gift\n"
        "31/02/2025,Org,organization,,rice,10,kg,1.000,,\n"  # no such day
        "2025-09-01,,organization,,rice,10,kg,1.000,,\n"  # an organization without a name
        "2025-09-01,An,someone,,rice,10,kg,1.000,,\n"  # unknown donor kind
        "2025-09-01,An,person,loud,rice,10,kg,1.000,,\n"  # unknown privacy
        "2025-09-01,Org,organization,,rice,1.5,kg,1.000,,\n"  # 1.5 is not a vi number
        "2025-09-01,Org,organization,,rice,0,kg,1.000,,\n"  # not positive
        "2025-09-01,Org,organization,,rice,10,kg,abc,,\n"  # not an amount
        "2025-09-01,Org,organization,,rice,10,kg,1.000,20.000,\n"  # total disagrees
        "2025-09-01,Org,organization,,rice,3,kg,,100.000,\n"  # not a whole amount per unit
        "2025-09-01,Org,organization,,,10,,1.000,,\n"  # item and unit empty
        "2025-09-01,Org,organization,,rice,10,kg,,,\n"  # no value at all
        "2025-09-01,Org,organization,,rice,10,kg,1.000,,G\n"
        "2025-09-02,Org,organization,,beans,10,kg,1.000,,G\n"  # same gift, another day
        "2025-09-01,Org,organization,,rice,10,kg,1.000,,,extra\n"  # too many cells
    )
    assert _errors(text) == [
        (2, "date"),
        (3, "donor"),
        (4, "donor_kind"),
        (5, "privacy"),
        (6, "quantity"),
        (7, "quantity"),
        (8, "unit_value"),
        (9, "total"),
        (10, "total"),
        (11, "item"),
        (11, "unit"),
        (12, "unit_value"),
        (14, "date"),
        (15, "row"),
    ]


def test_a_bad_header_is_refused_before_any_row():
    assert _errors("") == [(1, "header")]
    assert _errors("date,item,quantity,unit,colour\n") == [(1, "colour"), (1, "unit_value")]
    assert _errors("date,item,item,quantity,unit,total\n") == [(1, "item")]
    assert _errors("date,item,unit,total\n") == [(1, "quantity")]
    assert _errors("date,item,quantity,unit,total\n") == [(2, "row")]  # no goods


def test_typed_goods_lines_follow_the_readers_language():
    line = item_parse_local("đường: 2,5: tấn: 20.000.000 ₫", "VND", "vi")
    assert (line.quantity, line.total) == (Decimal("2.5"), Money(50_000_000, "VND"))
    english = item_parse_local("masks:10,000:box:1.50", "USD", "en")
    assert english.total == Money(1_500_000, "USD")


def test_numbers_and_dates_are_written_as_each_language_writes_them():
    assert [count_format(29_246, loc) for loc in ("vi", "en", "es", "pt_BR")] == [
        "29.246",
        "29,246",
        "29.246",
        "29.246",
    ]
    assert quantity_format(Decimal("1E+4"), "vi") == "10.000"
    assert quantity_format(Decimal("2.500"), "vi") == "2,5"
    assert quantity_format(Decimal("0.125"), "en") == "0.125"
    assert day_format(date(2025, 10, 5), "vi") == "05/10/2025"
    assert day_format(date(2025, 10, 5), "pt_BR") == "05/10/2025"
    assert day_format(date(2025, 10, 5), "en") == "5 Oct 2025"


@given(
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e12"), places=3),
    locale=st.sampled_from(["vi", "en", "es", "pt_BR"]),
)
def test_a_quantity_written_for_a_reader_reads_back_the_same(quantity, locale):
    written = quantity_format(quantity, locale)
    assert "E" not in written
    line = item_parse_local(f"rice:{written}:kg:1", "VND", locale)
    assert line.quantity == quantity
