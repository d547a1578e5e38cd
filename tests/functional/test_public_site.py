"""The public site through Django's test client: pages, languages, totals, QR codes, exports."""

import csv
import io
import json
from datetime import timedelta

import pytest
import zxingcpp
from django.core.cache import cache
from django.test import Client
from PIL import Image

from solidarity.apps.donations.services import GiftInput, donations_record_many
from solidarity.apps.transparency.sequencer import log_sequence_once
from solidarity.core.vietqr import vietqr_build, vietqr_payload
from tests.factories import OPENS, campaign_factory, gift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def client():
    return Client()


def _decode_png(data: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(results) == 1
    return results[0].text


# --- languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "prefix"),
    [("vi", "/vi/"), ("en-US,en;q=0.9", "/en/"), ("es-ES", "/es/"), ("pt-BR,pt;q=0.8", "/pt-br/")],
)
def test_an_address_without_a_language_goes_to_the_visitors_language(client, accept, prefix):
    campaign_factory()
    response = client.get("/c/cuba/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 302
    assert response["Location"] == f"{prefix}c/cuba/"


def test_each_language_is_translated_and_formatted(client):
    campaign = campaign_factory(goal=10_000_000)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 1_234_000)])
    pages = {
        lang: client.get(f"/{lang}/c/cuba/").content.decode()
        for lang in ("vi", "en", "es", "pt-br")
    }
    assert "Khoản ủng hộ mới nhất" in pages["vi"] and "1.234.000\u00a0₫" in pages["vi"]
    assert "Latest gifts" in pages["en"] and "₫1,234,000" in pages["en"]
    assert "Últimas donaciones" in pages["es"] and "1.234.000\u00a0₫" in pages["es"]
    assert "Doações mais recentes" in pages["pt-br"] and "₫\u00a01.234.000" in pages["pt-br"]
    for lang, html in pages.items():
        assert f'<html lang="{lang}">' in html
        # the switcher offers this page in every language
        for other in ("vi", "en", "es", "pt-br"):
            assert f'href="/{other}/c/cuba/" hreflang="{other}"' in html


def test_api_exports_and_qr_images_carry_no_language_prefix(client):
    campaign_factory()
    assert client.get("/api/v1/campaigns/cuba/totals").status_code == 200
    assert client.get("/c/cuba/give/qr.svg").status_code == 200
    assert client.get("/c/cuba/statement.csv").status_code == 200
    assert client.get("/healthz").content == b"ok"
    assert client.get("/vi/api/v1/campaigns/cuba/totals").status_code == 404


# --- campaign page -----------------------------------------------------------------------


def test_the_page_says_when_the_goal_was_reached_and_shows_accounts_with_their_log_entry(
    client, log_home
):
    campaign = campaign_factory(goal=300_000)
    donations_record_many(
        campaign=campaign,
        gifts=[gift(campaign, 200_000, received_at=OPENS + timedelta(hours=h)) for h in (1, 5)],
    )
    html = client.get("/en/c/cuba/").content.decode()
    assert "Goal reached in 5.0 hours." in html
    assert "4001" in html and "MB" in html
    assert "Announced; waiting for its place in the log." in html
    log_sequence_once(durable=False)
    cache.clear()
    html = client.get("/en/c/cuba/").content.decode()
    assert "Announced in log entry #0." in html


def test_the_page_draws_charts_as_inline_svg(client):
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[gift(campaign, a) for a in (10_000, 500_000)])
    html = client.get("/en/c/cuba/").content.decode()
    assert html.count('<svg class="chart"') == 4
    assert "<title>Gifts by channel</title>" in html
    assert "<script src=" in html and "http" not in html.split("<script src=")[1][:5]


def test_totals_json_is_small_cacheable_and_answers_304(client):
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 50_000)])
    response = client.get("/api/v1/campaigns/cuba/totals")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=2"
    data = json.loads(response.content)
    assert (data["raised_minor"], data["donation_count"], data["goal_minor"]) == (
        50_000,
        1,
        1_000_000,
    )
    again = client.get("/api/v1/campaigns/cuba/totals", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get("/api/v1/campaigns/none/totals").status_code == 404


# --- give --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "amount", "memo"),
    [
        ("", None, "CUBA"),
        ("&amount=150000", 150_000, "CUBA"),
        ("&amount=200000&ref=an+2025", 200_000, "CUBA an 2025"),
    ],
)
def test_the_served_png_decodes_to_the_exact_vietqr_payload(client, query, amount, memo):
    campaign_factory()
    response = client.get(f"/c/cuba/give/qr.png?account=970422:4001{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    expected = vietqr_build(vietqr_payload(bin="970422", account="4001", amount=amount, memo=memo))
    assert _decode_png(response.content) == expected


def test_the_svg_is_an_accessible_image(client):
    campaign_factory()
    response = client.get("/c/cuba/give/qr.svg?account=970422:4001&amount=100000")
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b'<svg role="img"')
    assert b"<title>" in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("account=970436:123", "is not an official account"),
        ("account=970422:4001&amount=-5", "whole number"),
        ("account=970422:4001&amount=0", "more than zero"),
        ("account=970422:4001&amount=5", "smallest gift"),
        ("account=970422:4001&amount=900000000", "largest gift"),
        ("account=970422:4001&ref=%C3%A9%3D1", "letters, digits and spaces"),
        ("account=970422:4001&ref=" + "A" * 30, "at most 20 characters"),
    ],
)
def test_bad_qr_requests_are_refused_with_a_clear_400(client, query, message):
    campaign_factory(min_gift_minor=10_000, max_gift_minor=100_000_000)
    response = client.get(f"/c/cuba/give/qr.png?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_give_page_works_without_javascript(client):
    campaign_factory()
    html = client.get("/en/c/cuba/give/?amount=&own=150,000&ref=AN").content.decode()
    assert "/c/cuba/give/qr.svg?account=970422:4001&amp;amount=150000&amp;ref=AN" in html
    assert "<code>CUBA AN</code>" in html
    assert "<script" not in html
    refused = client.get("/en/c/cuba/give/?own=lots")
    assert refused.status_code == 400
    assert "is not an amount" in refused.content.decode()


# --- statement and exports ---------------------------------------------------------------


def _named(campaign, name, amount=100_000, memo=None, **kw):
    return gift(
        campaign, amount, donor_name=name, privacy="named", memo=memo or f"{name} ung ho", **kw
    )


def test_the_statement_finds_a_donor_without_regard_to_case_or_accents(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign,
        gifts=[_named(campaign, "NGUYỄN VĂN A"), _named(campaign, "TRẦN THỊ BÍCH")],
    )
    html = client.get("/vi/c/cuba/statement?q=nguyen+van+a").content.decode()
    assert "NGUYỄN VĂN A" in html and "TRẦN THỊ BÍCH" not in html
    assert "/c/cuba/receipt/" in html


def test_the_api_pages_through_every_gift_once(client):
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 10_000 + i) for i in range(7)])
    seen, page = [], ""
    while True:
        data = client.get(
            f"/api/v1/campaigns/cuba/donations?limit=3&sort=amount&page={page}"
        ).json()
        seen += [item["amount_minor"] for item in data["items"]]
        if not data["next_page"]:
            break
        page = data["next_page"]
    assert seen == [10_000 + i for i in range(7)]
    bad = client.get("/api/v1/campaigns/cuba/donations?page=garbage&min=x")
    assert bad.status_code == 400


def test_csv_export_defuses_formulas_and_json_export_streams_public_fields(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign,
        gifts=[
            _named(campaign, "=HYPERLINK(1)", memo="+SUM(A1) ung ho"),
            _named(campaign, "@evil", memo="-2+3"),
        ],
    )
    response = client.get("/c/cuba/statement.csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["at", "ref", "donor", "memo", "amount", "currency", "channel"]
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK(1)" in cells and "'@evil" in cells and "'-2+3" in cells
    data = json.loads(b"".join(client.get("/c/cuba/statement.json").streaming_content))
    assert len(data) == 2
    assert set(data[0]) == {
        "ref",
        "at",
        "amount_minor",
        "currency",
        "channel",
        "donor",
        "memo",
        "receipt",
    }


def test_private_fields_are_never_searchable(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign,
        gifts=[
            GiftInput(
                amount_minor=10_000,
                currency="VND",
                received_at=OPENS,
                channel="bank_transfer",
                source="t",
                source_ref="secret-1",
                donor_name="LE VAN SECRETNAME",
                privacy="anonymous",
                memo="ung ho 0912345678",
                account=campaign.accounts.first(),
                sender_account="1234567890123",
            )
        ],
    )
    api = "/api/v1/campaigns/cuba/donations?q="
    assert client.get(api + "secretname").json()["items"] == []
    assert client.get(api + "0912345678").json()["items"] == []
    assert client.get(api + "1234567890123").json()["items"] == []
    # nothing of an anonymous gift's memo is shown, so nothing of it is found either
    assert client.get(api + "ung+ho").json()["items"] == []
    (item,) = client.get(api + "anonymous").json()["items"]
    assert (item["donor"], item["memo"]) == ("anonymous", "")


# --- verify ------------------------------------------------------------------------------


def test_the_verify_page_names_the_log_and_its_files(client):
    campaign_factory()
    html = client.get("/en/c/cuba/verify/?ref=abc").content.decode()
    assert 'data-origin="solidarity.localhost/cuba"' in html
    assert 'data-checkpoint-url="/log/cuba/checkpoint"' in html
    assert 'value="ABC"' in html
    assert "solidarity/verify.js" in html
