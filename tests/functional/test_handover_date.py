"""The office records the day a tranche was actually handed over."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from solidarity.apps.disbursements.models import Tranche
from solidarity.apps.disbursements.services import tranche_approve
from tests.factories import office_login
from tests.integration.tranche_helpers import PASSWORD, funded_campaign, people, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return people()


def test_the_handover_form_takes_the_day_it_happened(who):
    campaign = funded_campaign(1_000_000)
    t = propose(campaign, who["thu"], 300_000, date=date(2025, 9, 1))
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    thu = Client(enforce_csrf_checks=True, headers={"Accept-Language": "vi"})
    assert office_login(thu, "thu", PASSWORD)
    page = thu.get(f"/office/tranches/{t.pk}/").content.decode()
    assert 'name="handed_over_on"' in page and "Ngày bàn giao" in page
    token = thu.cookies["csrftoken"].value
    refused = thu.post(
        f"/office/tranches/{t.pk}/handover/",
        {"csrfmiddlewaretoken": token, "handed_over_on": "2999-01-01", "evidence_kind": "other"},
    )
    assert refused.status_code == 400
    assert "in the future" in refused.content.decode()
    done = thu.post(
        f"/office/tranches/{t.pk}/handover/",
        {"csrfmiddlewaretoken": token, "handed_over_on": "2025-10-15", "evidence_kind": "other"},
    )
    assert done.status_code == 302
    t = Tranche.objects.get(pk=t.pk)
    assert (t.status, t.date) == (Tranche.Status.HANDED_OVER, date(2025, 10, 15))
