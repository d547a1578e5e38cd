"""Roles in the back office: the auditor reads everything and changes nothing."""

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.donations.services import donation_record
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


def test_auditor_reads_books_but_cannot_change_them():
    campaign = campaign_factory()
    donation = donation_record(campaign=campaign, gift=gift(campaign)).donation
    user = user_add(username="kiem", role="auditor", password="an-auditor-passphrase-1")
    client = Client()
    client.force_login(user)
    listing = client.get("/admin/donations/donation/")
    assert listing.status_code == 200
    assert donation.public_ref in listing.content.decode()
    assert client.get("/admin/campaigns/campaign/").status_code == 200
    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200
    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", {"slug": "renamed"})
    assert response.status_code == 403
    assert user.has_perm("donations.view_donation")
    assert not user.has_perm("campaigns.change_campaign")
    assert not user.has_perm("disbursements.add_tranche")


def test_approver_may_act_on_tranches_and_accountant_on_imports():
    approver = user_add(username="duyet", role="approver", password="an-approver-passphrase-1")
    accountant = user_add(username="ketoan", role="accountant", password="an-accountant-pass-1")
    assert approver.has_perm("disbursements.change_tranche")
    assert not approver.has_perm("imports.change_reviewitem")
    assert accountant.has_perm("imports.change_reviewitem")
    assert not accountant.has_perm("disbursements.change_tranche")
