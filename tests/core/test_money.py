from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.money import (
    CurrencyMismatch,
    ExchangeRate,
    Money,
    MoneyError,
    amount_typed,
    currency_exponent,
    money_convert,
    money_format,
    money_parse,
)

NBSP = "\u00a0"
LOCALES = ("vi", "en", "es", "pt-BR")


def test_exponents_come_from_iso_4217():
    assert currency_exponent("VND") == 0
    assert currency_exponent("USD") == 2
    assert currency_exponent("JPY") == 0


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("vi", f"385.000.000.000{NBSP}₫"),
        ("es", f"385.000.000.000{NBSP}₫"),
        ("en", "₫385,000,000,000"),
        ("pt-BR", f"₫{NBSP}385.000.000.000"),
    ],
)
def test_vnd_385_billion_reads_per_locale(locale, expected):
    assert money_format(Money(385_000_000_000, "VND"), locale) == expected


def test_usd_in_vietnamese():
    assert money_format(Money(1_459_992_415, "USD"), "vi") == f"14.599.924,15{NBSP}US$"


def test_first_tranche_conversion_is_recorded_and_truncated():
    rate = ExchangeRate(
        base="USD", quote="VND", rate=Decimal(26370), source="VCB", on=date(2025, 9, 1)
    )
    assert money_convert(Money(385_000_000_000, "VND"), rate) == Money(1_459_992_415, "USD")
    assert money_convert(Money(100, "USD"), rate) == Money(26_370, "VND")
    with pytest.raises(CurrencyMismatch):
        money_convert(Money(1, "EUR"), rate)


def test_arithmetic_across_currencies_is_refused():
    with pytest.raises(CurrencyMismatch):
        Money(1, "VND") + Money(1, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "VND") < Money(1, "USD")


def test_invalid_values_are_refused():
    with pytest.raises(MoneyError):
        Money(1.5, "VND")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "XXQ")
    with pytest.raises(MoneyError):
        Money.from_decimal(Decimal("1.5"), "VND")
    with pytest.raises(MoneyError):
        Money.from_decimal(Decimal("1.005"), "USD")


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        ("200.000", "VND", "vi", 200_000),
        ("200.000 ₫", "VND", "vi", 200_000),
        ("200,000", "VND", "en", 200_000),
        ("₫200,000", "VND", "en", 200_000),
        ("200.000", "VND", "es", 200_000),
        ("R$ 1.234,56", "BRL", "pt-BR", 123_456),
        ("1,234.56", "USD", "en", 123_456),
        ("1.234,56", "USD", "vi", 123_456),
        ("50000", "VND", "vi", 50_000),
    ],
)
def test_parse_a_persons_input(text, currency, locale, minor):
    assert money_parse(text, currency, locale) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("10.000", "en"),
        ("1.2.3", "vi"),
        ("-5", "vi"),
        ("abc", "es"),
        ("", "vi"),
        ("12,34,567", "en"),
    ],
)
def test_parse_refuses_ambiguous_or_bad_input(text, locale):
    with pytest.raises(MoneyError):
        money_parse(text, "VND", locale)


amounts = st.integers(min_value=0, max_value=10**15)


@given(amounts, st.sampled_from(LOCALES), st.sampled_from(["VND", "USD", "EUR"]))
def test_format_then_parse_round_trips(minor, locale, currency):
    money = Money(minor, currency)
    assert money_parse(money_format(money, locale), currency, locale) == money


@given(amounts, amounts, amounts)
def test_addition_is_exact_and_associative(a, b, c):
    x, y, z = Money(a, "VND"), Money(b, "VND"), Money(c, "VND")
    assert (x + y) + z == x + (y + z) == Money(a + b + c, "VND")
    assert (x + y) - y == x


@given(
    st.integers(min_value=1, max_value=10**14),
    st.decimals(min_value=1, max_value=100_000, places=4),
)
def test_conversion_never_overstates(minor, rate_value):
    rate = ExchangeRate(
        base="USD", quote="VND", rate=rate_value, source="test", on=date(2025, 1, 1)
    )
    usd = money_convert(Money(minor, "VND"), rate)
    assert usd.to_decimal() * rate_value <= Decimal(minor)
    assert (usd.to_decimal() + Decimal("0.01")) * rate_value > Decimal(minor)


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        ("150.000", "VND", "en", 150_000),
        ("150.000", "VND", "vi", 150_000),
        ("150,000", "VND", "vi", 150_000),
        ("150 000", "VND", "es", 150_000),
        ("150k", "VND", "pt_BR", 150_000),
        ("150K ₫", "VND", "en", 150_000),
        ("1,5tr", "VND", "vi", 1_500_000),
        ("1.5 triệu", "VND", "vi", 1_500_000),
        ("2 tỷ", "VND", "vi", 2_000_000_000),
        ("1.500.000đ", "VND", "en", 1_500_000),
        ("150000", "VND", "vi", 150_000),
        ("12.50", "USD", "en", 1_250),
        ("12,50", "USD", "pt_BR", 1_250),
        ("1.234,50", "USD", "es", 123_450),
    ],
)
def test_amount_typed_reads_amounts_as_people_type_them(text, currency, locale, minor):
    assert amount_typed(text, currency, locale) == minor


@pytest.mark.parametrize(
    "text",
    ["", "nguyen", "150,5", "1.50", "15.00.000", "0", "1,5,6tr", "150xyz", "٣٠٠", "-150.000"],
)
def test_amount_typed_refuses_what_is_not_a_whole_amount(text):
    assert amount_typed(text, "VND", "vi") is None
