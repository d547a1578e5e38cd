"""Donors find their gift on the statement page: by bank transaction code, by amount as people
type it, by reference and by name; with the match count and sum, and pages both ways."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from solidarity.apps.donations.selectors import (
    COUNT_CAP,
    StatementQuery,
    donation_count,
    donation_search,
)
from solidarity.apps.donations.services import donations_record_many
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def client():
    return Client()


def _named(campaign, name, amount=100_000, **kw):
    return gift(campaign, amount, donor_name=name, privacy="named", memo=f"{name} ung ho", **kw)


def _refs(html: str) -> list[str]:
    return re.findall(r'/c/cuba/receipt/([0-9A-Z]+)/"', html)


def test_a_bank_transaction_code_finds_its_gift_in_any_case(client):
    campaign = campaign_factory()
    results = donations_record_many(
        campaign=campaign,
        gifts=[
            _named(campaign, "LE THI HOA", bank_ref="FT26340123456789"),
            _named(campaign, "TRAN VAN BA", bank_ref="FT26340999999999"),
        ],
    )
    for typed in ("FT26340123456789", "ft26340123456789", "  FT26340123456789 "):
        response = client.get("/en/c/cuba/statement", {"q": typed})
        html = response.content.decode()
        assert response.status_code == 200
        assert _refs(html) == [results[0].public_ref]
        assert "bank transaction code FT26340123456789" in html
    # a code of another campaign's gift finds nothing here
    other = campaign_factory(slug="floods", code="LU")
    donations_record_many(campaign=other, gifts=[_named(other, "X", bank_ref="FT99")])
    html = client.get("/en/c/cuba/statement", {"q": "FT26340000000000"}).content.decode()
    assert _refs(html) == [] and "No gift matches" in html


def test_the_api_finds_a_gift_by_bank_code_and_reference_in_q(client):
    campaign = campaign_factory()
    (r,) = donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "LE THI HOA", bank_ref="FT26340123456789")]
    )
    api = "/api/v1/campaigns/cuba/donations?q="
    assert [i["ref"] for i in client.get(api + "ft26340123456789").json()["items"]] == [
        r.public_ref
    ]
    assert [i["ref"] for i in client.get(api + r.public_ref.lower()).json()["items"]] == [
        r.public_ref
    ]


@pytest.mark.parametrize(
    ("lang", "typed"),
    [
        ("vi", "150.000"),
        ("en", "150.000"),
        ("en", "150,000"),
        ("es", "150 000"),
        ("pt-br", "150k"),
        ("vi", "150000"),
        ("vi", "150.000 ₫"),
        ("en", "0,15tr"),
    ],
)
def test_an_amount_typed_as_people_type_it_finds_gifts_of_that_amount(client, lang, typed):
    campaign = campaign_factory()
    results = donations_record_many(
        campaign=campaign,
        gifts=[
            _named(campaign, "A", 150_000),
            _named(campaign, "B", 1_500_000),
            _named(campaign, "C", 150_000),
        ],
    )
    html = client.get(f"/{lang}/c/cuba/statement", {"q": typed}).content.decode()
    assert sorted(_refs(html)) == sorted([results[0].public_ref, results[2].public_ref])
    assert 'id="read"' in html
    assert 'id="count" data-exact="1"' in html


def test_millions_in_vietnamese_words(client):
    campaign = campaign_factory()
    results = donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "A", 1_500_000), _named(campaign, "B", 150_000)]
    )
    for typed in ("1,5tr", "1.5 triệu", "1.500.000"):
        html = client.get("/vi/c/cuba/statement", {"q": typed}).content.decode()
        assert _refs(html) == [results[0].public_ref], typed


def test_a_name_still_finds_by_words_and_the_count_and_sum_are_shown(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign,
        gifts=[_named(campaign, "NGUYỄN VĂN AN", 100_000 + i) for i in range(3)]
        + [_named(campaign, "TRẦN THỊ BÍCH", 5_000)],
    )
    html = client.get("/en/c/cuba/statement", {"q": "nguyen van an"}).content.decode()
    assert len(_refs(html)) == 3
    assert 'id="read"' not in html
    assert "3 gifts match, ₫300,003 in all." in html
    vi = client.get("/vi/c/cuba/statement", {"q": "nguyen van an"}).content.decode()
    assert "300.003" in vi


def test_an_anonymous_gift_is_not_found_by_name_but_by_its_bank_code(client):
    campaign = campaign_factory()
    (r,) = donations_record_many(
        campaign=campaign,
        gifts=[
            gift(
                campaign,
                200_000,
                donor_name="PHAM HIDDENNAME",
                privacy="anonymous",
                bank_ref="FT26340555555555",
            )
        ],
    )
    html = client.get("/en/c/cuba/statement", {"q": "hiddenname"}).content.decode()
    assert _refs(html) == []
    html = client.get("/en/c/cuba/statement", {"q": "FT26340555555555"}).content.decode()
    assert _refs(html) == [r.public_ref]
    assert "HIDDENNAME" not in html


def test_the_count_is_exact_up_to_the_cap_then_says_more_than(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "HOA", 10_000 + i) for i in range(12)]
    )
    exact = donation_count(campaign=campaign, query=StatementQuery(q="hoa"), cap=12)
    assert (exact.count, exact.sum_minor, exact.exact) == (12, 12 * 10_000 + 66, True)
    capped = donation_count(campaign=campaign, query=StatementQuery(q="hoa"), cap=11)
    assert (capped.count, capped.sum_minor, capped.exact) == (11, None, False)
    ranged = donation_count(
        campaign=campaign, query=StatementQuery(min_minor=10_005, max_minor=10_007)
    )
    assert (ranged.count, ranged.sum_minor) == (3, 30_018)
    assert donation_count(campaign=campaign, query=StatementQuery(q="nobody")).count == 0


def test_the_page_says_more_than_the_cap(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign,
        gifts=[_named(campaign, "HOA", 10_000 + i % 7) for i in range(COUNT_CAP + 1)],
    )
    html = client.get("/en/c/cuba/statement", {"q": "hoa"}).content.decode()
    assert 'data-exact="0"' in html and "More than 1,000 gifts match" in html
    html = client.get("/en/c/cuba/statement", {"q": "hoa", "max": "10.001"}).content.decode()
    assert 'data-exact="1"' in html


def test_pages_go_forward_and_back_over_the_same_gifts(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "HOA", 10_000 + i) for i in range(7)]
    )
    query = StatementQuery(q="hoa", sort="amount")
    first = donation_search(campaign=campaign, query=query, limit=3)
    second = donation_search(campaign=campaign, query=query, cursor=first.next_cursor, limit=3)
    third = donation_search(campaign=campaign, query=query, cursor=second.next_cursor, limit=3)
    amounts = [[r["amount_minor"] - 10_000 for r in p.rows] for p in (first, second, third)]
    assert amounts == [[0, 1, 2], [3, 4, 5], [6]]
    assert first.prev_cursor is None and third.next_cursor is None
    back = donation_search(campaign=campaign, query=query, before=third.prev_cursor, limit=3)
    assert [r["amount_minor"] - 10_000 for r in back.rows] == [3, 4, 5]
    start = donation_search(campaign=campaign, query=query, before=back.prev_cursor, limit=3)
    assert [r["amount_minor"] - 10_000 for r in start.rows] == [0, 1, 2]
    assert start.prev_cursor is None
    assert start.next_cursor is not None


def test_the_page_links_to_previous_and_next_pages(client):
    campaign = campaign_factory()
    donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "HOA", 10_000 + i) for i in range(120)]
    )
    first = client.get("/en/c/cuba/statement", {"q": "hoa"}).content.decode()
    assert 'rel="prev"' not in first
    nxt = re.search(r'rel="next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get("/en/c/cuba/statement?" + nxt).content.decode()
    prev = re.search(r'rel="prev" href="\?([^"]+)"', second).group(1).replace("&amp;", "&")
    again = client.get("/en/c/cuba/statement?" + prev).content.decode()
    assert _refs(again) == _refs(first)
    assert set(_refs(second)).isdisjoint(_refs(first))
    assert client.get("/en/c/cuba/statement?before=garbage").status_code == 400


def test_the_phone_layout_keeps_the_receipt_column(client):
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "HOA")])
    html = client.get("/en/c/cuba/statement").content.decode()
    assert '<td class="receipt"><a href="/c/cuba/receipt/' in html
    css = client.get("/static/solidarity/site.css")
    text = b"".join(css.streaming_content).decode() if css.streaming else css.content.decode()
    assert "table.statement td.receipt" in text


@pytest.mark.parametrize("typed", ["99999999999999999999999", "9.223.372.036.854.775.808"])
def test_an_amount_past_any_gift_in_the_box_is_searched_as_words_not_a_500(client, typed):
    campaign = campaign_factory()
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "HOA")])
    response = client.get("/en/c/cuba/statement", {"q": typed})
    assert response.status_code == 200
    assert "No gift matches" in response.content.decode()


@pytest.mark.parametrize("lang", ["vi", "en", "es", "pt-br"])
@pytest.mark.parametrize("typed", ["150.000", "150,000", "150 000", "150k"])
def test_the_give_page_takes_the_amount_its_help_shows_in_every_language(client, lang, typed):
    campaign_factory()
    response = client.get(f"/{lang}/c/cuba/give/", {"own": typed})
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "amount=150000" in html
    # the help text's own example is an amount the form takes
    example = re.search(r'id="own-help">[^<]*?([0-9][0-9.,]*[0-9])', html).group(1)
    assert client.get(f"/{lang}/c/cuba/give/", {"own": example}).status_code == 200


def test_statement_rows_escape_every_value_and_mark_unconfirmed_gifts():
    from datetime import UTC, datetime

    from django.utils import translation

    from solidarity.apps.public.templatetags.public import statement_rows

    row = {
        "public_ref": "ABC123",
        "received_at": datetime(2025, 8, 25, 8, 30, tzinfo=UTC),
        "display_name": "<b>X</b> & Y",
        "amount_minor": 150_000,
        "currency": "VND",
        "memo_public": '"><script>',
        "channel_name": "QR <1>",
    }
    with translation.override("en"):
        html = statement_rows([row, {**row, "public_ref": "DEF456"}], {"DEF456"}, "cuba")
    first, second = html.split("</tr>")[:2]
    assert "&lt;b&gt;X&lt;/b&gt; &amp; Y" in first and "<b>" not in html
    assert "&quot;&gt;&lt;script&gt;" in first and "QR &lt;1&gt;" in first
    assert '<a href="/c/cuba/receipt/ABC123/"><code>ABC123</code></a>' in first
    assert "badge" not in first and 'class="badge"' in second and "unconfirmed" in second
    assert "150,000" in first and "3:30" in first  # amount and Vietnam time as before
