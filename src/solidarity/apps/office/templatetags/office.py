"""`{% load office %}`: amounts, quantities and times as the reader writes them.

Amounts go through Babel with the currency's exponent (VND 0, USD 2), times are shown in
Vietnam time as dd/mm/yyyy HH:MM, and quantities without exponents or trailing zeros.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import Evidence, Tranche, TrancheEvent
from solidarity.apps.feeds.models import Notification
from solidarity.apps.imports.models import Import
from solidarity.apps.public import formatting

register = template.Library()


@register.filter
def money(minor: Any, currency: str) -> str:
    """`{{ row.amount_minor|money:row.currency }}` -> "200.000 ₫", "75.843,76 US$"."""
    if minor is None or minor == "":
        return "—"
    try:
        return formatting.amount(int(minor), str(currency))
    except (TypeError, ValueError):
        return str(minor)


@register.filter
def quantity(value: Any) -> str:
    """`Decimal("1E+4")` -> "10.000"; `Decimal("2.50")` -> "2,5" (in Vietnamese)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    normal = number.normalize()
    exponent = normal.as_tuple().exponent
    digits = max(-exponent, 0) if isinstance(exponent, int) else 0
    return formatting.number(normal, digits)


MINUTE = "%d/%m/%Y %H:%M"
DAY = "%d/%m/%Y"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and "T" in value:
        try:
            return parse_datetime(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _vietnam(value: Any, fmt: str) -> str | None:
    """`value` (a datetime or RFC 3339 text) in Vietnam time, as `fmt`; None for anything
    else."""
    moment = _moment(value)
    return None if moment is None else formatting.local_time(moment).strftime(fmt)


@register.filter
def local(value: Any) -> str:
    """A UTC time (datetime or RFC 3339 text) as dd/mm/yyyy HH:MM in Vietnam time."""
    shown = _vietnam(value, MINUTE)
    return str(value or "") if shown is None else shown


@register.filter
def localday(value: Any) -> str:
    """A date or time as dd/mm/yyyy (Vietnam time for a datetime)."""
    shown = _vietnam(value, DAY)
    if shown is not None:
        return shown
    day = parse_date(value) if isinstance(value, str) else value
    return str(day.strftime(DAY)) if hasattr(day, "strftime") else str(value or "")


def _list_address(context: dict[str, Any], key: str, value: str, *, drop: str | None = None) -> str:
    """The current list address with `key` set to `value` (and `drop` left out), its other
    filters kept."""
    query = context["request"].GET.copy()
    query[key] = value
    if drop is not None:
        query.pop(drop, None)
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def sort_link(context: dict[str, Any], field: str) -> str:
    """The current list address sorted by `field` (descending when it already is ascending),
    from its first page."""
    current = context["request"].GET.get("sort", "")
    return _list_address(context, "sort", f"-{field}" if current == field else field, drop="page")


@register.simple_tag(takes_context=True)
def page_link(context: dict[str, Any], number: int) -> str:
    """The current list address at page `number`, its filters and sorting kept."""
    return _list_address(context, "page", str(number))


_REASONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(p), message)
    for p, message in (
        # a log's witnesses
        (
            r"^(?P<c>\S+) is already a witness of \S+$",
            _("%(c)s is already a witness of this campaign"),
        ),
        (
            r"^'(?P<c>.*)' is not an active witness of \S+$",
            _("%(c)s is not an active witness of this campaign"),
        ),
        (
            r"^removing (?P<c>\S+) would leave (?P<n>\d+) witnesses for a quorum of (?P<q>\d+)$",
            _("removing %(c)s would leave %(n)s witnesses for a quorum of %(q)s"),
        ),
        (r"^lower the quorum first$", _("lower the quorum first")),
        (
            r"^quorum (?P<q>-?\d+): must be between 0 and the (?P<n>\d+) active witnesses$",
            _("quorum %(q)s: must be between 0 and the %(n)s active witnesses"),
        ),
        # the review queue
        (r"^no campaign code or keyword in memo$", _("no campaign code or keyword in memo")),
        (r"^memo names several campaigns$", _("the memo names several campaigns")),
        (r"^transfer returned by the bank$", _("transfer returned by the bank")),
        (
            r"^amount below the campaign's minimum (?P<n>\d+)$",
            _("amount below the campaign's smallest gift (%(n)s)"),
        ),
        (
            r"^amount above the campaign's maximum (?P<n>\d+)$",
            _("amount above the campaign's largest gift (%(n)s)"),
        ),
        (r"^campaign (?P<c>\S+) is (?P<s>\w+), not open$", _("campaign %(c)s is %(s)s, not open")),
        (r"^campaign (?P<c>\S+) closed at (?P<t>\S+)$", _("campaign %(c)s closed on %(t)s")),
        (r"^assigned to (?P<c>\S+)$", _("assigned to %(c)s")),
        # campaign settings, accounts, photos, updates
        (r"^slug '(?P<c>[^']*)' is taken$", _("the address name %(c)s is taken")),
        (
            r"^slug '(?P<c>[^']*)': .*$",
            _("the address name %(c)s: lowercase letters, digits and dashes, up to 64"),
        ),
        (r"^code '(?P<c>[^']*)': .*$", _("the memo code %(c)s: 2 to 32 letters or digits")),
        (
            r"^a campaign needs a name in at least one language$",
            _("Give the campaign a name in at least one language."),
        ),
        (r"^goal must be a positive amount$", _("the goal must be a positive amount")),
        (r"^days must be positive$", _("the number of days must be positive")),
        (
            r"^minimum gift is above the maximum gift$",
            _("the smallest gift is above the largest gift"),
        ),
        (
            r"^(minimum|maximum) gift must be a positive amount$",
            _("gift limits must be positive amounts"),
        ),
        (
            r"^at least one approval is required for a tranche$",
            _("a tranche needs at least one approval"),
        ),
        (r"^account (?P<c>\S+): unknown bank BIN \d+$", _("account %(c)s: unknown bank BIN")),
        (
            r"^account (?P<c>\S+): the number must be 1 to 19 digits$",
            _("account %(c)s: the number must be 1 to 19 digits"),
        ),
        (r"^account (?P<c>\S+) is already (?P<s>\S+)'s$", _("account %(c)s is already announced")),
        (r"^account (?P<c>\S+) is already retired$", _("account %(c)s is already retired")),
        (
            r"^campaign (?P<c>\S+) is (?P<s>\w+); cannot \w+$",
            _("campaign %(c)s is %(s)s; that step is not possible"),
        ),
        (r"^campaign (?P<c>\S+) is closed$", _("campaign %(c)s is closed")),
        (
            r"^campaign (?P<c>\S+) is a draft; open it first$",
            _("campaign %(c)s is a draft; open it first"),
        ),
        (r"^campaign (?P<c>\S+) is a draft$", _("campaign %(c)s is a draft")),
        (r"^photo '(?P<c>[^']*)': use JPEG, PNG or WebP$", _("photo %(c)s: use JPEG, PNG or WebP")),
        (
            r"^photo '(?P<c>[^']*)' is larger than (?P<n>\d+) MB$",
            _("photo %(c)s is larger than %(n)s MB"),
        ),
        (r"^an update needs a title$", _("an update needs a title")),
        (
            r"^the title is longer than 200 characters$",
            _("the title is longer than 200 characters"),
        ),
        (r"^an update needs a text$", _("an update needs a text")),
        # tranches
        (
            r"^tranche (?P<n>\d+) is (?P<s>\w+); .*$",
            _("tranche %(n)s is %(s)s; that step is not possible"),
        ),
        (
            r"^(?P<c>\S+) proposed tranche (?P<n>\d+) and cannot approve it$",
            _("%(c)s proposed tranche %(n)s and cannot approve it"),
        ),
        (
            r"^(?P<c>\S+) has already approved tranche (?P<n>\d+)$",
            _("%(c)s has already approved tranche %(n)s"),
        ),
        (
            r"^(?P<c>\S+) does not have the approver role$",
            _("%(c)s does not have the approver role"),
        ),
        (r"^a rejection needs a reason$", _("a rejection needs a reason")),
        (
            r"^a tranche needs a recipient organization$",
            _("a tranche needs a recipient organization"),
        ),
        (
            r"^a tranche needs an amount, or goods with a value$",
            _("a tranche needs an amount, or goods with a value"),
        ),
        (r"^no file given$", _("no file given")),
    )
]


def _reason_one(part: str) -> str:
    where = ""
    if m := re.match(r"^line (\d+): (.*)$", part):
        where, part = gettext("line %(n)s") % {"n": m.group(1)} + ": ", m.group(2)
    for pattern, message in _REASONS:
        if found := pattern.match(part):
            values = found.groupdict()
            if "t" in values:
                values["t"] = local(values["t"])
            if "s" in values:
                values["s"] = _status_label(values["s"])
            return where + (str(message) % values if values else str(message))
    return where + part


def _status_label(value: str) -> str:
    for choices in (Campaign.Status, Tranche.Status):
        if value in choices.values:
            return str(choices(value).label)
    return value


@register.filter
def reason(text: Any) -> str:
    """A reason the books recorded in English ("; "-joined), in the reader's language."""
    parts = []
    for raw in str(text or "").split("; "):
        parts.append(_reason_one(raw))
    return "; ".join(parts)


def _choices() -> dict[str, Any]:
    return {
        "campaign": Campaign.Status,
        "tranche": Tranche.Status,
        "tranche_event": TrancheEvent.Action,
        "evidence": Evidence.Kind,
        "notification": Notification.Status,
        "import": Import.Status,
        "review": ReviewItem.Status,
    }


@register.filter
def choice(value: Any, kind: str) -> str:
    """`{{ ev.action|choice:"tranche_event" }}`: a stored status or kind, translated."""
    try:
        return str(_choices()[kind](value).label)
    except (KeyError, ValueError):
        return str(value)
