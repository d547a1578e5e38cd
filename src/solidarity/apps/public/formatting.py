"""Numbers, amounts, dates and durations for the visitor's language (Babel/CLDR)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates, numbers
from django.conf import settings
from django.utils import translation

from solidarity.core.money import LANGUAGE_LOCALES as BABEL_LOCALES
from solidarity.core.money import Money, money_format


def locale() -> str:
    """The Babel locale of the active language."""
    return BABEL_LOCALES.get((translation.get_language() or "vi").lower(), "vi")


def amount(minor: int, currency: str, babel_locale: str | None = None) -> str:
    """`babel_locale`: the active language's (`locale()`), passed by callers that format many."""
    return _amount(minor, currency, babel_locale or locale())


# A statement page formats 50 amounts and times; gifts share amounts and minutes, and Babel
# costs a fraction of a millisecond per call. Values are immutable: caching cannot go stale.
@lru_cache(maxsize=8192)
def _amount(minor: int, currency: str, babel_locale: str) -> str:
    return money_format(Money(minor, currency), babel_locale)


def number(value: int | float | Decimal, digits: int = 0) -> str:
    return _number(value, digits, locale())


@lru_cache(maxsize=8192)
def _number(value: int | float | Decimal, digits: int, babel_locale: str) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(numbers.format_decimal(value, format=pattern, locale=babel_locale))


def percent(value: float) -> str:
    return str(numbers.format_percent(value, format="#,##0.0%", locale=locale()))


def when(moment: datetime, fmt: str = "short", babel_locale: str | None = None) -> str:
    if fmt == "short":  # hours and minutes only (CLDR): one entry per minute
        moment = moment.replace(second=0, microsecond=0)
    return _when(moment, fmt, babel_locale or locale())


@lru_cache(maxsize=8192)
def _when(moment: datetime, fmt: str, babel_locale: str) -> str:
    return str(
        dates.format_datetime(moment, fmt, tzinfo=ZoneInfo(settings.TIME_ZONE), locale=babel_locale)
    )


def local_time(moment: datetime) -> datetime:
    """`moment` in the campaigns' time zone (settings.TIME_ZONE: Vietnam time)."""
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE))


def day(moment: datetime) -> str:
    return str(dates.format_date(local_time(moment), "medium", locale=locale()))


def duration(delta: timedelta) -> str:
    """ "3 days", "5 hours": the largest whole unit, as people say it."""
    return str(dates.format_timedelta(delta, threshold=1.5, locale=locale()))
