"""The statement's search, on SQLite (FTS5) and PostgreSQL (pg_trgm) alike."""

from datetime import timedelta

import pytest

from solidarity.apps.donations import selectors
from solidarity.apps.donations.selectors import StatementQuery, donation_search, donation_stream
from solidarity.apps.donations.services import donations_record_many
from tests.factories import OPENS, campaign_factory, gift

pytestmark = pytest.mark.django_db


def _named(campaign, name, amount=100_000, minutes=0, memo=None):
    return gift(
        campaign,
        amount,
        donor_name=name,
        privacy="named",
        memo=memo or f"{name} ung ho Cuba",
        received_at=OPENS + timedelta(minutes=minutes),
    )


@pytest.fixture
def campaign():
    c = campaign_factory()
    donations_record_many(
        campaign=c,
        gifts=[
            _named(c, "NGUYỄN VĂN A", 50_000, 1),
            _named(c, "Nguyễn Văn An", 200_000, 2),
            _named(c, "ĐỖ THỊ ĐÀO", 1_000_000, 3, memo="Đỗ Thị Đào chuyển tiền ủng hộ"),
            _named(c, "TRAN B", 10_000, 4, memo="IBFT Ung ho nhan dan Cuba"),
        ],
    )
    return c


def _names(campaign, **kw):
    page = donation_search(campaign=campaign, query=StatementQuery(**kw))
    return [r["display_name"] for r in page.rows]


@pytest.mark.parametrize("dense", [False, True])
def test_search_folds_case_and_diacritics(campaign, monkeypatch, dense):
    if dense:  # walk the sort order and test each row instead of asking the index
        monkeypatch.setattr(selectors, "SPARSE_MAX", 0)
    # words of three letters or more match as prefixes, shorter ones as whole words
    assert _names(campaign, q="nguyen van a") == ["NGUYỄN VĂN A"]
    assert _names(campaign, q="NGUYỄN VĂN A") == ["NGUYỄN VĂN A"]
    assert _names(campaign, q="nguy van", sort="time") == ["NGUYỄN VĂN A", "Nguyễn Văn An"]
    assert _names(campaign, q="do thi dao") == ["ĐỖ THỊ ĐÀO"]
    assert _names(campaign, q="chuyen tien") == ["ĐỖ THỊ ĐÀO"]
    assert _names(campaign, q="nhan dan") == ["TRAN B"]
    assert _names(campaign, q="nobody") == []


def test_amount_date_and_reference_filters(campaign):
    assert _names(campaign, min_minor=50_000, max_minor=200_000, sort="amount") == [
        "NGUYỄN VĂN A",
        "Nguyễn Văn An",
    ]
    assert _names(
        campaign, since=OPENS + timedelta(minutes=2), until=OPENS + timedelta(minutes=4)
    ) == ["ĐỖ THỊ ĐÀO", "Nguyễn Văn An"]
    ref = donation_search(campaign=campaign, query=StatementQuery(q="dao")).rows[0]["public_ref"]
    assert _names(campaign, ref=ref.lower()) == ["ĐỖ THỊ ĐÀO"]
    assert _names(campaign, q=ref) == ["ĐỖ THỊ ĐÀO"]


@pytest.mark.parametrize("sort", ["-time", "time", "-amount", "amount"])
def test_keyset_pages_cover_every_gift_once_in_order(sort):
    c = campaign_factory()
    # equal amounts and times force the id tie-breaker
    donations_record_many(
        campaign=c,
        gifts=[
            gift(c, 10_000 * (1 + i % 3), received_at=OPENS + timedelta(minutes=i // 2))
            for i in range(23)
        ],
    )
    query = StatementQuery(sort=sort)
    every = list(donation_stream(campaign=c, query=query, chunk=4))
    assert len({r["id"] for r in every}) == 23
    field = "received_at" if "time" in sort else "amount_minor"
    keys = [(r[field], r["id"]) for r in every]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_other_campaigns_gifts_are_not_found(campaign):
    other = campaign_factory(slug="other", accounts=())
    donations_record_many(campaign=other, gifts=[_named(other, "NGUYEN VAN A", 5_000)])
    assert _names(campaign, q="nguyen van a") == ["NGUYỄN VĂN A"]
    assert _names(other, q="nguyen van a") == ["NGUYEN VAN A"]
