"""The search indexer's position (`SearchIndexer`): each pass reads on from where the last
stopped, so a long backlog is indexed once through, and gifts other bookers indexed
themselves (a feed's, the give page's) never make it skip the ones still waiting. SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from solidarity.apps.donations import search
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.search import SearchIndexer, search_index_catch_up
from solidarity.apps.donations.services import donation_record, donations_record_many
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


def _indexed() -> set[int]:
    from django.db import connection

    key = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        cur.execute(f"SELECT {key} FROM donations_search")
        return {int(r[0]) for r in cur.fetchall()}


def test_an_indexer_far_behind_reads_on_past_gifts_indexed_by_their_bookers(monkeypatch):
    monkeypatch.setattr(search, "WINDOW", 5)
    campaign = campaign_factory(goal=10**12)
    # Given 40 gifts of an import waiting for their search rows
    waiting = donations_record_many(
        campaign=campaign, gifts=[gift(campaign) for _ in range(40)], search_later=True
    )
    # And, after them, gifts a feed booked and indexed itself
    for _ in range(3):
        donation_record(campaign=campaign, gift=gift(campaign))
    # When the indexer runs passes of 10 from its start
    indexer = SearchIndexer()
    passes = []
    while not indexer.caught_up:
        passes.append(search_index_catch_up(limit=10, indexer=indexer))
    # Then every waiting gift is indexed, in passes that read on, and the indexer stands
    # at the newest gift
    assert {r.donation_id for r in waiting} <= _indexed()
    assert passes == [10, 10, 10, 10, 0]
    assert indexer.done == Donation.objects.order_by("-id").values_list("id", flat=True)[0]


def test_a_gift_committed_late_with_a_lower_id_is_read_within_the_window():
    campaign = campaign_factory(goal=10**12)
    donations_record_many(
        campaign=campaign, gifts=[gift(campaign) for _ in range(5)], search_later=True
    )
    indexer = SearchIndexer()
    assert search_index_catch_up(indexer=indexer) == 5
    # Given a gift below the indexer's position without its row (as a PostgreSQL
    # transaction that drew its id first and committed last leaves it)
    late = Donation.objects.order_by("id").first()
    assert late is not None
    from django.db import connection

    key = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM donations_search WHERE {key} = %s", [late.pk])
    # When the indexer passes again, it is indexed
    assert search_index_catch_up(indexer=indexer) == 1
    assert late.pk in _indexed()


def test_an_indexer_far_behind_reads_on_without_looking_back(monkeypatch):
    from django.db import connection

    monkeypatch.setattr(search, "WINDOW", 5)
    campaign = campaign_factory(goal=10**12)
    waiting = donations_record_many(
        campaign=campaign, gifts=[gift(campaign) for _ in range(40)], search_later=True
    )
    ids = [r.donation_id for r in waiting]
    indexer = SearchIndexer()
    assert search_index_catch_up(limit=10, indexer=indexer) == 10
    assert (indexer.done, indexer.top) == (ids[9], ids[-1])
    # Given a gift just below its position without its row, far below the newest gift (no
    # booking commits that late: a pass far behind need not look back for one)
    key = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM donations_search WHERE {key} = %s", [ids[7]])
    # When it passes again, it reads on from its position: the next ten gifts
    assert search_index_catch_up(limit=10, indexer=indexer) == 10
    assert set(ids[10:20]) <= _indexed() and ids[7] not in _indexed()
    # And an indexer started afresh (a restart) reads from the first gift, so finds it
    while not indexer.caught_up:
        search_index_catch_up(limit=10, indexer=indexer)
    assert search_index_catch_up(indexer=SearchIndexer()) == 1
    assert set(ids) <= _indexed()


def _small_window(monkeypatch) -> None:
    monkeypatch.setattr(search, "WINDOW", 5)
    monkeypatch.setattr(search, "SPAN", 10)


def test_the_backlog_counts_an_import_whole_while_others_index_their_own_gifts_above_it(
    monkeypatch,
):
    from solidarity.apps.donations.models import SearchPending
    from solidarity.apps.donations.search import search_backlog

    _small_window(monkeypatch)
    campaign = campaign_factory(goal=10**12)
    # Given three batches of an import waiting for their search rows (60 gifts, far more
    # than the window and the span)
    for _ in range(3):
        donations_record_many(
            campaign=campaign, gifts=[gift(campaign) for _ in range(20)], search_later=True
        )
    assert SearchPending.objects.count() == 3
    # And, after them, gifts a feed booked and indexed itself
    for _ in range(8):
        donation_record(campaign=campaign, gift=gift(campaign))
    # Then the backlog is the import's 60 gifts, booked when its first batch was
    backlog = search_backlog()
    assert backlog.waiting == 60
    first = Donation.objects.select_related("txn").order_by("id").first()
    assert first is not None and backlog.oldest_booked_at == first.txn.booked_at
    # When an indexer has read half of it, the backlog is the rest
    indexer = SearchIndexer()
    for _ in range(3):
        search_index_catch_up(limit=10, indexer=indexer)
    assert search_backlog().waiting == 30
    # And once it caught up, nothing is waiting and the records below it are gone
    while not indexer.caught_up:
        search_index_catch_up(limit=10, indexer=indexer)
    search_index_catch_up(limit=10, indexer=indexer)
    assert search_backlog().waiting == 0
    assert search_backlog().oldest_booked_at is None
    top = Donation.objects.order_by("-id").values_list("id", flat=True)[0]
    assert all(p.hi > top - 5 for p in SearchPending.objects.all())
