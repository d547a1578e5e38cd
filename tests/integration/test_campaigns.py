import pytest

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.services import (
    AccountInput,
    CampaignError,
    campaign_close,
    campaign_open,
)
from solidarity.apps.transparency.announcements import receiving_account_add
from solidarity.apps.transparency.models import LogEntry
from tests.factories import OPENS, campaign_factory

pytestmark = pytest.mark.django_db


def test_campaign_life_cycle_is_draft_open_closed():
    c = campaign_factory(open_=False)
    assert c.status == Campaign.Status.DRAFT
    assert (c.closes_at - OPENS).days == 65
    c = campaign_open(campaign=c)
    with pytest.raises(CampaignError, match="cannot open"):
        campaign_open(campaign=c)
    c = campaign_close(campaign=c)
    with pytest.raises(CampaignError):
        campaign_open(campaign=c)


def test_invalid_campaigns_are_refused_with_every_reason():
    with pytest.raises(CampaignError) as err:
        campaign_factory(
            slug="Bad Slug", code="!", goal=-1, days=0, accounts=(AccountInput("123456", "12ab"),)
        )
    text = str(err.value)
    for fragment in ("slug", "code", "goal", "days", "unknown bank 123456", "1 to 19 digits"):
        assert fragment in text
    assert Campaign.objects.count() == 0


def test_names_fall_back_by_language():
    c = campaign_factory(names={"vi": "Vì Cuba", "es": "Por Cuba"})
    assert c.text("names", "es") == "Por Cuba"
    assert c.text("names", "pt-br") == "Vì Cuba"
    assert c.text("names", "en") == "Vì Cuba"


def test_a_new_receiving_account_is_announced_in_the_log():
    c = campaign_factory()
    receiving_account_add(campaign=c, account=AccountInput("970436", "0011004", "VCB"))
    assert LogEntry.objects.filter(campaign=c, kind="account").count() == 2
    with pytest.raises(CampaignError, match="already"):
        receiving_account_add(campaign=c, account=AccountInput("970436", "0011004"))
