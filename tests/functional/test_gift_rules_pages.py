"""A campaign's rule for one gift on the pages: the give page offers and accepts only amounts
within it; the review queue says, in the office's language, why a transfer outside it waits."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.imports.services import statement_import
from tests.factories import campaign_factory, office_login
from tests.integration.test_imports import _csv

pytestmark = pytest.mark.django_db


def test_the_give_page_offers_only_amounts_within_the_rule(client):
    campaign_factory(min_gift_minor=100_000, max_gift_minor=500_000)
    html = client.get("/en/c/cuba/give/").content.decode()
    offered = [
        v for v in ("50000", "100000", "200000", "500000", "1000000") if f'value="{v}"' in html
    ]
    assert offered == ["100000", "200000", "500000"]
    refused = client.get("/en/c/cuba/give/?own=50.000")
    assert refused.status_code == 400
    assert "The smallest gift this campaign takes is" in refused.content.decode()


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "amount below the campaign&#x27;s smallest gift (10000)"),
        ("vi", "số tiền dưới mức ủng hộ nhỏ nhất của chiến dịch (10000)"),
    ],
)
def test_the_review_queue_says_why_a_transfer_outside_the_rule_waits(
    tmp_path: Path, language: str, shown: str
):
    campaign_factory(
        goal=10**12, accounts=(AccountInput("970436", "0011001932418"),), min_gift_minor=10_000
    )
    row = ("25/08/2025", "FT25237000000001", "", "5.000", "NGUYEN VAN AN ung ho CUBA")
    assert statement_import(path=_csv(tmp_path / "a.csv", [row])).counts.to_review == 1
    user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")
    office = Client(headers={"Accept-Language": language})
    assert office_login(office, "ke-toan", "a-long-passphrase-1")
    assert shown in office.get("/office/review/").content.decode()
