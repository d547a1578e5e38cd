import pytest
from django.core.cache import cache
from django.test import Client

from solidarity.apps.donations.services import donations_record_many
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_the_campaign_page_shows_true_totals():
    campaign = campaign_factory(goal=1_000_000)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 200_000) for _ in range(3)])
    response = Client().get("/vi/c/cuba/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Vì Cuba" in html
    assert "600.000\u00a0₫" in html
    assert 'value="60.0"' in html


def test_draft_and_unknown_campaigns_are_not_found():
    campaign_factory(slug="secret", open_=False)
    assert Client().get("/vi/c/secret/").status_code == 404
    assert Client().get("/vi/c/nope/").status_code == 404
