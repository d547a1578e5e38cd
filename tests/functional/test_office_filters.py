"""The back office's template filters (`{% load office %}`): amounts, quantities, times and
days as the reader writes them, and whatever else they are given shown as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from solidarity.apps.office.templatetags.office import local, localday, money, quantity

EVENING = datetime(2025, 8, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 September in Vietnam


@pytest.mark.parametrize(
    ("minor", "currency", "vi", "en"),
    [
        (200_000, "VND", "200.000\xa0₫", "₫200,000"),
        ("7584376", "USD", "75.843,76\xa0US$", "$75,843.76"),
        (0, "USD", "0,00\xa0US$", "$0.00"),
        (None, "VND", "—", "—"),
        ("", "VND", "—", "—"),
        ("abc", "VND", "abc", "abc"),
    ],
)
def test_money(minor, currency, vi, en):
    for language, expected in (("vi", vi), ("en", en)):
        with translation.override(language):
            assert money(minor, currency) == expected


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (Decimal("1E+4"), "10.000", "10,000"),
        (Decimal("2.50"), "2,5", "2.5"),
        (Decimal("0.0001"), "0,0001", "0.0001"),
        (Decimal("0.000"), "0", "0"),
        ("3.0", "3", "3"),
        (7, "7", "7"),
        (None, "", ""),
        ("", "", ""),
        ("abc", "abc", "abc"),
    ],
)
def test_quantity(value, vi, en):
    for language, expected in (("vi", vi), ("en", en)):
        with translation.override(language):
            assert quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVENING, "01/09/2025 00:30"),
        ("2025-08-31T17:30:00Z", "01/09/2025 00:30"),
        ("2025-08-31T17:30:00+00:00", "01/09/2025 00:30"),
        ("2025-08-31", "2025-08-31"),  # a day, not a time: as given
        ("xTy", "xTy"),
        (None, ""),
        ("", ""),
        (5, "5"),
    ],
)
def test_local_shows_vietnam_time_to_the_minute(value, expected):
    for language in ("vi", "en"):
        with translation.override(language):
            assert local(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVENING, "01/09/2025"),
        ("2025-08-31T17:30:00Z", "01/09/2025"),
        ("2025-08-31", "31/08/2025"),
        (date(2025, 9, 1), "01/09/2025"),
        ("31/08/2025", "31/08/2025"),
        ("xTy", "xTy"),
        (None, ""),
        ("", ""),
        (5, "5"),
    ],
)
def test_localday_shows_the_day_in_vietnam(value, expected):
    assert localday(value) == expected


def test_sort_and_page_links_keep_the_filters():
    request = RequestFactory().get("/office/review/", {"status": "open", "sort": "amount",
                                                       "page": "3"})  # fmt: skip
    rendered = Template(
        "{% load office %}{% sort_link 'amount' %} {% sort_link 'date' %} {% page_link 2 %}"
    ).render(Context({"request": request}))
    assert rendered.split() == [
        "?status=open&amp;sort=-amount",
        "?status=open&amp;sort=date",
        "?status=open&amp;sort=amount&amp;page=2",
    ]
