"""Reads behind the public pages: latest gifts, official accounts, chart aggregates, log key.

Chart aggregates are single GROUP BY queries over the gift table's indexes, cached for a
minute per campaign (they change slowly and the page is read far more often than gifts come).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from django.db import connection

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.selectors import PUBLIC_FIELDS, gifts_shown
from solidarity.apps.public.caching import cached
from solidarity.apps.transparency.models import LogEntry
from solidarity.apps.transparency.selectors import log_published_size
from solidarity.core.banks import bank_by_key

CHART_SECONDS: Final = 60
# Gift-size bucket edges in major units; the last bucket is "this much or more".
_SIZE_EDGES: Final = {
    0: (10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 10_000_000),
    2: (5, 10, 20, 50, 100, 500, 1000),
}


@dataclass(frozen=True, slots=True)
class AccountView:
    bin: str
    number: str
    holder: str
    bank: str
    bank_name: str
    announced: bool  # the account entry exists in the log outbox
    log_index: int | None  # its position in the log once sequenced
    vietqr: bool = True  # false at a bank without a NAPAS BIN: no VietQR code can name it

    @property
    def key(self) -> str:
        return f"{self.bin}:{self.number}"


def campaign_accounts(*, campaign: Campaign) -> list[AccountView]:
    """The official receiving accounts, each with the published log entry that announced it."""
    published = log_published_size(campaign=campaign)
    entries: dict[str, int | None] = {}
    for ref, index in (
        LogEntry.objects.filter(campaign=campaign, kind="account")
        .exclude(kind="donation")  # the condition of the partial index log_kind_not_gift
        .order_by("id")
        .values_list("ref", "index")
    ):
        entries.setdefault(ref, index if index < published else None)
    out = []
    for a in campaign.accounts.filter(retired_at__isnull=True):
        bank = bank_by_key(a.bin)
        key = f"{a.bin}:{a.number}"
        out.append(
            AccountView(
                bin=a.bin,
                number=a.number,
                holder=a.holder,
                bank=bank.short_name if bank else a.bin,
                bank_name=bank.name_vi if bank else "",
                announced=key in entries,
                log_index=entries.get(key),
                vietqr=bank.vietqr if bank else a.bin.isdigit(),
            )
        )
    return out


def latest_gifts(*, campaign: Campaign, limit: int = 10) -> list[dict[str, Any]]:
    return gifts_shown(
        list(
            Donation.objects.filter(campaign=campaign)
            .order_by("-received_at", "-id")
            .values(*PUBLIC_FIELDS)[:limit]
        )
    )


def log_vkey(*, campaign: Campaign) -> str | None:
    """The campaign log's verifier key, once the transparency app publishes one."""
    try:
        selectors = importlib.import_module("solidarity.apps.transparency.selectors")
    except ImportError:
        return None
    fn = getattr(selectors, "log_vkey", None)
    if fn is None:
        return None
    try:
        vkey = fn(campaign)
    except Exception:
        return None
    return str(vkey) if vkey else None


def log_witnesses(*, campaign: Campaign) -> dict[str, Any]:
    """The log's witnesses, quorum and latest size cosigned with the quorum."""
    from solidarity.apps.transparency.witnesses import log_witness_summary  # noqa: PLC0415

    return log_witness_summary(campaign)


def log_origin(*, campaign: Campaign) -> str:
    from django.conf import settings  # noqa: PLC0415 (settings are read at call time)

    return f"{settings.SOLIDARITY_LOG_HOST}/{campaign.slug}"


def _hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(f"{value}:00:00").replace(tzinfo=UTC)


def gifts_by_hour(*, campaign: Campaign) -> list[tuple[datetime, int, int]]:
    """(hour in UTC, gifts, amount) for every hour with gifts, in order."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            # received_at is stored as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]".
            bucket = "substr(received_at, 1, 13)"
        else:
            bucket = "date_trunc('hour', received_at AT TIME ZONE 'UTC')"
        cur.execute(
            f"SELECT {bucket} AS h, COUNT(*), SUM(amount_minor) FROM donations_donation "  # noqa: S608 (constant SQL)
            "WHERE campaign_id = %s GROUP BY h ORDER BY h",
            [campaign.pk],
        )
        return [(_hour(h), int(n), int(s)) for h, n, s in cur.fetchall()]


def gift_sizes(*, campaign: Campaign) -> list[tuple[int, int | None, int]]:
    """(lower bound, upper bound or None, gifts) per size bucket, in minor units."""
    from solidarity.core.money import currency_exponent  # noqa: PLC0415

    exp = currency_exponent(campaign.currency)
    edges = [e * 10**exp for e in _SIZE_EDGES.get(exp, _SIZE_EDGES[2])]
    cases = " ".join(f"WHEN amount_minor < {e} THEN {i}" for i, e in enumerate(edges))
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT CASE {cases} ELSE {len(edges)} END AS b, COUNT(*) "  # noqa: S608 (integers only)
            "FROM donations_donation WHERE campaign_id = %s GROUP BY b",
            [campaign.pk],
        )
        counts = dict(cur.fetchall())
    bounds = [0, *edges]
    return [
        (bounds[i], edges[i] if i < len(edges) else None, int(counts.get(i, 0)))
        for i in range(len(edges) + 1)
    ]


def gifts_by_channel(*, campaign: Campaign) -> list[tuple[str, int, int]]:
    """(channel, gifts, amount), most gifts first."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT channel, COUNT(*), SUM(amount_minor) FROM donations_donation "
            "WHERE campaign_id = %s GROUP BY channel ORDER BY COUNT(*) DESC",
            [campaign.pk],
        )
        return [(c, int(n), int(s)) for c, n, s in cur.fetchall()]


def campaign_chart_data(*, campaign: Campaign) -> dict[str, Any]:
    """The aggregates behind the campaign's charts, at most a minute old."""
    return cached(
        f"public:charts:{campaign.pk}",
        CHART_SECONDS,
        lambda: {
            "hours": gifts_by_hour(campaign=campaign),
            "sizes": gift_sizes(campaign=campaign),
            "channels": gifts_by_channel(campaign=campaign),
        },
    )
