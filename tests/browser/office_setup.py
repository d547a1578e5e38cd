"""Run by the office browser tests inside a fresh installation (SOLIDARITY_HOME): people with
roles and TOTP devices, two campaigns sharing an account (so a statement leaves transfers to
review), a funded USD campaign with tranches waiting for approval. Prints what the browser
needs (passwords, TOTP keys, tranche ids) as one JSON object."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidarity.web.settings")
django.setup()

from solidarity.apps.accounts.services import totp_enrol, user_add  # noqa: E402
from solidarity.apps.campaigns.services import AccountInput, campaign_open  # noqa: E402
from solidarity.apps.disbursements.services import tranche_propose  # noqa: E402
from solidarity.apps.donations.services import GiftInput, donations_record_many  # noqa: E402
from solidarity.apps.transparency.announcements import campaign_create  # noqa: E402

PASSWORD = "a-long-passphrase-2025"
NOW = datetime.now(UTC)


def campaign(slug: str, code: str, names: dict[str, str], currency: str, account: AccountInput):
    made = campaign_create(
        slug=slug,
        code=code,
        names=names,
        goal_minor=10**13,
        currency=currency,
        opens_at=NOW - timedelta(days=30),
        days=365,
        accounts=[account],
        approvals_required=1,
    )
    return campaign_open(campaign=made)


shared = AccountInput("970436", "0011001932418", "HOI CHU THAP DO")
campaign("lu-lut", "LULUT", {"vi": "Cứu trợ lũ lụt", "es": "Ayuda inundaciones"}, "VND", shared)
campaign("cuba", "CUBA", {"vi": "Vì Cuba", "es": "Por Cuba"}, "VND", shared)
medicine = {"vi": "Thuốc cho Cuba", "es": "Medicinas"}
usd = campaign("y-te", "YTE", medicine, "USD", AccountInput("970422", "4001"))
donations_record_many(
    campaign=usd,
    gifts=[
        GiftInput(
            amount_minor=10_000_000_00,
            currency="USD",
            received_at=NOW - timedelta(days=1),
            channel="bank_transfer",
            source="setup",
            source_ref="usd-1",
            donor_name="UNICEF",
            memo="YTE",
            account=usd.accounts.first(),
            sender_account="000111222",
        )
    ],
)
people = {}
for name, role in (("thu", "accountant"), ("lan", "approver"), ("quan", "admin")):
    user = user_add(username=name, role=role, password=PASSWORD)
    people[name] = {"password": PASSWORD}
    if role in ("approver", "admin"):
        people[name]["totp_key"] = totp_enrol(user=user).device.key
tranches = {}
for language in ("vi", "es"):
    tranches[language] = tranche_propose(
        campaign=usd,
        by=user_add(username=f"ke-toan-{language}", role="accountant", password=PASSWORD),
        recipient="MINSAP",
        amount_minor=7_584_376,
        currency="USD",
        date=(NOW - timedelta(days=2)).date(),
        purpose="Thuốc",
    ).pk
print(json.dumps({"people": people, "tranches": tranches}))
