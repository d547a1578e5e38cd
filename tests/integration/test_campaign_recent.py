"""The campaign the public statement and its API read on every search (`campaign_public_recent`):
a change made in this process shows at once, one made elsewhere within RECENT_SECONDS."""

import pytest
from django.db import connection

from solidarity.apps.campaigns import selectors
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_public_recent
from solidarity.apps.campaigns.services import campaign_close
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: now[0])
    return now


def test_a_change_saved_elsewhere_shows_within_the_second(clock):
    # Given: the campaign read once
    campaign = campaign_factory(slug="held")
    first = campaign_public_recent(slug="held")
    assert first.pk == campaign.pk
    # When: another process changes it (here: SQL behind this process's back)
    with connection.cursor() as cur:
        cur.execute("UPDATE campaigns_campaign SET code = %s WHERE id = %s", ["OTHER", campaign.pk])
    # Then: the same reading within RECENT_SECONDS, the new one after
    clock[0] += selectors.RECENT_SECONDS / 2
    assert campaign_public_recent(slug="held") is first
    clock[0] += selectors.RECENT_SECONDS
    assert campaign_public_recent(slug="held").code == "OTHER"


def test_a_change_made_in_this_process_shows_at_once(client, clock):
    campaign = campaign_factory(slug="closing")
    assert campaign_public_recent(slug="closing").status == Campaign.Status.OPEN
    campaign_close(campaign=campaign)
    assert campaign_public_recent(slug="closing").status == Campaign.Status.CLOSED
    campaign.code = "RENAMED"
    campaign.save()
    assert campaign_public_recent(slug="closing").code == "RENAMED"
    assert client.get("/api/v1/campaigns/closing/donations").status_code == 200
    # and a campaign that does not exist is not found, every time
    for _ in range(2):
        with pytest.raises(Campaign.DoesNotExist):
            campaign_public_recent(slug="nowhere")
        assert client.get("/api/v1/campaigns/nowhere/donations").status_code == 404
        assert client.get("/vi/c/nowhere/statement").status_code == 404


def test_a_reading_begun_before_a_change_in_this_process_is_not_kept(clock, monkeypatch):
    # Given: a reading that a change in this process overtakes while it runs
    campaign_factory(slug="race")
    real = selectors.campaign_public_get

    def overtaken(*, slug):
        found = real(slug=slug)
        selectors.campaigns_recent_forget()  # another thread saved a change meanwhile
        return found

    monkeypatch.setattr(selectors, "campaign_public_get", overtaken)
    campaign_public_recent(slug="race")
    monkeypatch.setattr(selectors, "campaign_public_get", real)
    # Then: the next reading goes to the database
    assert "race" not in selectors._recent


def test_any_queryset_update_of_a_campaign_shows_at_once_and_is_forgotten_again_at_commit(
    clock, django_capture_on_commit_callbacks
):
    # Given: the campaign read once
    campaign = campaign_factory(slug="updated")
    assert campaign_public_recent(slug="updated").code == campaign.code
    # When: any code updates it through a queryset (no post_save), in a transaction
    with django_capture_on_commit_callbacks(execute=False) as at_commit:
        Campaign.objects.filter(pk=campaign.pk).update(code="BULK")
        # Then: the next reading sees the change at once
        assert campaign_public_recent(slug="updated").code == "BULK"
    # and what was read before the commit is forgotten when it commits
    assert "updated" in selectors._recent
    for callback in at_commit:
        callback()
    assert "updated" not in selectors._recent
    # an update that changes no row forgets nothing
    campaign_public_recent(slug="updated")
    Campaign.objects.filter(slug="nowhere").update(code="NONE")
    assert "updated" in selectors._recent
