"""Shared set-up for the tranche tests: people with roles, a funded campaign."""

from __future__ import annotations

from datetime import date
from typing import Any

from solidarity.apps.accounts.services import user_add
from solidarity.apps.disbursements.services import tranche_propose
from solidarity.apps.donations.services import donations_record_many
from tests.factories import campaign_factory, gift

PASSWORD = "a-long-passphrase-2025"


def people() -> dict[str, Any]:
    return {
        "thu": user_add(username="thu", role="accountant", password=PASSWORD),
        "lan": user_add(username="lan", role="approver", password=PASSWORD),
        "minh": user_add(username="minh", role="approver", password=PASSWORD),
        "hoa": user_add(username="hoa", role="approver", password=PASSWORD),
        "an": user_add(username="an", role="auditor", password=PASSWORD),
    }


def funded_campaign(raised: int = 1_000_000, slug: str = "cuba", **kw: Any) -> Any:
    campaign = campaign_factory(slug=slug, goal=10**12, **kw)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, raised)])
    return campaign


def propose(campaign: Any, by: Any, amount: int, **kw: Any) -> Any:
    return tranche_propose(
        campaign=campaign,
        by=by,
        recipient=kw.pop("recipient", "Cuban Red Cross"),
        amount_minor=amount,
        currency=kw.pop("currency", campaign.currency),
        date=kw.pop("date", date(2025, 9, 1)),
        **kw,
    )
