"""What other sites see of a campaign: share cards, the favicon, the embeddable widget (the
only page allowed in frames), and the stand-alone verifier file."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from solidarity.apps.donations.services import donations_record_many
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def campaign():
    c = campaign_factory(goal=1_000_000)
    donations_record_many(campaign=c, gifts=[gift(c, 250_000), gift(c, 250_000)])
    return c


def _og(html: str) -> dict[str, str]:
    return dict(re.findall(r'<meta property="(og:[a-z:]+)" content="([^"]*)">', html))


@pytest.mark.parametrize(
    ("lang", "title", "raised"),
    [("vi", "Vì Cuba", "500.000\u00a0₫"), ("en", "For Cuba", "₫500,000")],
)
def test_the_campaign_page_carries_share_tags_with_a_progress_card(
    client, campaign, lang, title, raised
):
    html = client.get(f"/{lang}/c/cuba/").content.decode()
    og = _og(html)
    assert og["og:title"] == title
    assert raised in og["og:description"]
    assert og["og:image"] == f"http://testserver/{lang}/c/cuba/card.png"
    assert og["og:url"] == f"http://testserver/{lang}/c/cuba/"
    card = client.get(og["og:image"].removeprefix("http://testserver"))
    assert card.status_code == 200 and card["Content-Type"] == "image/png"
    assert "max-age=" in card["Cache-Control"]
    image = Image.open(io.BytesIO(card.content))
    assert image.size == (1200, 630)
    # the bar is half filled: the accent colour at a quarter of its length, grey at three quarters
    assert image.getpixel((80 + 260, 485)) == (163, 0, 27)
    assert image.getpixel((80 + 780, 485)) == (230, 230, 230)


def test_the_card_is_kept_and_an_unknown_campaign_has_none(client, campaign):
    first = client.get("/en/c/cuba/card.png").content
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 400_000)])
    assert client.get("/en/c/cuba/card.png").content == first  # rendered at most once a minute
    assert client.get("/en/c/nowhere/card.png").status_code == 404


def test_the_favicon_is_an_icon_every_page_links(client, campaign):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert (32, 32) in icon.info["sizes"]
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/en/c/cuba/").content.decode()


def test_the_widget_may_be_framed_by_any_site(client, campaign):
    response = client.get("/vi/c/cuba/widget")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "500.000\u00a0₫" in html and "50,0%" in html
    assert 'href="/vi/c/cuba/" target="_blank" rel="noopener"' in html
    assert "<script" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/vi/c/cuba/",
        "/en/c/cuba/statement",
        "/en/c/cuba/give/",
        "/en/c/cuba/verify/",
        "/en/",
        "/api/v1/campaigns/cuba/totals",
        "/en/c/nowhere/widget",
        "/admin/login/",
    ],
)
def test_every_other_page_refuses_frames(client, campaign, path):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_verifier_downloads_as_one_file_with_nothing_to_fetch(client, campaign):
    response = client.get("/en/verifier/download")
    assert response.status_code == 200
    assert 'filename="solidarity-verifier.html"' in response["Content-Disposition"]
    html = response.content.decode()
    assert "crypto.subtle" in html and "--accent" in html  # script and style inline
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert 'data-origin=""' in html
    keyed = client.get("/vi/verifier/download?campaign=cuba")
    assert 'filename="solidarity-verifier-cuba.html"' in keyed["Content-Disposition"]
    assert client.get("/en/verifier/download?campaign=nowhere").status_code == 404
    assert 'id="verifier-download"' in client.get("/en/c/cuba/verify/").content.decode()


def test_dark_mode_follows_the_system_setting(client):
    css = client.get("/static/solidarity/site.css")
    text = b"".join(css.streaming_content).decode() if css.streaming else css.content.decode()
    dark = text.split("@media (prefers-color-scheme: dark)", 1)[1]
    assert "--bg:#15171a" in dark and "--ink:#e8e8e8" in dark
