"""Word postings in memory (postings.py) stay exact as the index changes under them: each
test holds a term, changes the index, and compares the next answer with a brute-force one."""

from datetime import timedelta

import pytest

from solidarity.apps.donations import postings
from solidarity.apps.donations.models import Donation, SearchChange
from solidarity.apps.donations.search import query_words, search_index_catch_up
from solidarity.apps.donations.selectors import StatementQuery, donation_count, donation_search
from solidarity.apps.donations.services import donations_record_many
from tests.factories import OPENS, campaign_factory, gift

pytestmark = pytest.mark.django_db


def _named(campaign, name, minutes, amount=100_000):
    return gift(
        campaign,
        amount,
        donor_name=name,
        privacy="named",
        memo=f"{name} ung ho Cuba",
        received_at=OPENS + timedelta(minutes=minutes),
    )


def _ids(campaign, q):
    return sorted(postings.postings_match(campaign.pk, query_words(q)).ids)


def _brute(campaign, q):
    words = query_words(q)
    page = donation_search(campaign=campaign, query=StatementQuery(), limit=200)
    from solidarity.apps.donations.search import search_body

    out = []
    for r in page.rows:
        body = search_body(r["display_name"], r["memo_public"], r["public_ref"]).split()
        if all(
            any(b == w.text or (w.prefix and b.startswith(w.text)) for b in body) for w in words
        ):
            out.append(r["id"])
    return sorted(out)


@pytest.fixture
def campaign(monkeypatch):
    monkeypatch.setattr(postings, "HOLD_MIN", 0)  # every term held, so every change replayed
    postings.postings_forget()
    c = campaign_factory()
    donations_record_many(
        campaign=c, gifts=[_named(c, n, i) for i, n in enumerate(["Nguyễn Văn An", "Lê Hoa"])]
    )
    return c


def test_a_gift_booked_after_a_term_is_held_is_found_at_once(campaign):
    # Given: "nguyen van" held in memory
    assert len(_ids(campaign, "nguyen van")) == 1
    # When: another Nguyen Van gives
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Nguyễn Văn Bình", 5)])
    # Then: the very next search finds both, as a brute-force match does
    assert _ids(campaign, "nguyen van") == _brute(campaign, "nguyen van")
    assert len(_ids(campaign, "nguyen van")) == 2
    assert [r["display_name"] for r in donation_search(
        campaign=campaign, query=StatementQuery(q="nguyen van", sort="time")
    ).rows] == ["Nguyễn Văn An", "Nguyễn Văn Bình"]  # fmt: skip


def test_an_erased_name_stops_finding_the_gift_at_once(campaign):
    from solidarity.apps.donations.services import donation_erase

    # Given: "hoa" held in memory, finding Lê Hoa's gift
    assert len(_ids(campaign, "hoa")) == 1
    target = Donation.objects.get(campaign=campaign, display_name="Lê Hoa")
    # When: the gift's private record is erased
    assert donation_erase(public_ref=target.public_ref)
    # Then: the name finds nothing, at once; the reference still finds the gift
    assert _ids(campaign, "hoa") == []
    assert donation_count(campaign=campaign, query=StatementQuery(q="hoa")).count == 0
    assert _ids(campaign, target.public_ref) == [target.pk]


def test_gifts_indexed_later_by_the_indexer_are_found_once_indexed(campaign):
    assert len(_ids(campaign, "tran")) == 0
    donations_record_many(
        campaign=campaign,
        gifts=[_named(campaign, f"Trần Thị {i}", 10 + i) for i in range(3)],
        search_later=True,
    )
    assert _ids(campaign, "tran") == []  # not searchable before the indexer
    assert search_index_catch_up() == 3
    assert len(_ids(campaign, "tran")) == 3
    assert donation_count(campaign=campaign, query=StatementQuery(q="tran")).count == 3


def test_a_change_log_from_another_history_makes_the_term_read_again(campaign):
    # Given: "nguyen" held, having applied the newest change
    assert len(_ids(campaign, "nguyen")) == 1
    # When: the log is not the one it read (a restored database: same ids, other tags;
    # or pruned), and the index changed meanwhile
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Nguyễn Thị Mai", 7)])
    SearchChange.objects.update(tag=12345)
    assert len(_ids(campaign, "nguyen")) == 2
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Nguyễn Hữu Tài", 8)])
    SearchChange.objects.all().delete()
    # Then: the term is read whole again and is exact
    assert _ids(campaign, "nguyen") == _brute(campaign, "nguyen")
    assert len(_ids(campaign, "nguyen")) == 3


def test_other_campaigns_and_the_count_cap(campaign):
    other = campaign_factory(slug="other", accounts=())
    donations_record_many(campaign=other, gifts=[_named(other, "Nguyễn Văn An", 1)])
    assert len(_ids(campaign, "nguyen van an")) == 1
    assert len(_ids(other, "nguyen van an")) == 1
    donations_record_many(
        campaign=campaign,
        gifts=[_named(campaign, "Nguyễn Văn An", 20 + i, 10_000) for i in range(4)],
    )
    counted = donation_count(campaign=campaign, query=StatementQuery(q="nguyen van an"), cap=10)
    assert (counted.count, counted.sum_minor, counted.exact) == (5, 140_000, True)
    capped = donation_count(campaign=campaign, query=StatementQuery(q="nguyen van an"), cap=3)
    assert (capped.count, capped.sum_minor, capped.exact) == (3, None, False)


def test_a_term_read_while_the_log_is_empty_is_not_held(campaign):
    from django.db import connection

    from solidarity.apps.donations.search import TABLE

    # Given: a log emptied by hand, and "nguyen" read while it is empty
    SearchChange.objects.all().delete()
    assert len(_ids(campaign, "nguyen")) == 1
    # When: the index changes with no row in the log (a database restored to another
    # history whose log is empty too)
    gone = Donation.objects.get(campaign=campaign, display_name="Nguyễn Văn An")
    key = "rowid" if connection.vendor == "sqlite" else "donation_id"
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE {key} = %s", [gone.pk])
    # Then: the next search reads the index as it is
    assert _ids(campaign, "nguyen") == []
    assert donation_count(campaign=campaign, query=StatementQuery(q="nguyen")).count == 0


def test_pruning_keeps_the_newest_change_so_the_log_is_never_empty(campaign):
    from django.utils import timezone

    from solidarity.apps.donations.search import search_changes_prune

    newest = SearchChange.objects.order_by("-id").first()
    assert newest is not None
    search_changes_prune(timezone.now() + timedelta(days=30))
    assert list(SearchChange.objects.values_list("id", flat=True)) == [newest.pk]
    # and a term read now is held and exact as the index changes
    assert len(_ids(campaign, "nguyen")) == 1
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Nguyễn Thị Mai", 9)])
    assert _ids(campaign, "nguyen") == _brute(campaign, "nguyen")
    assert len(_ids(campaign, "nguyen")) == 2


def test_the_migration_starts_the_change_log_with_a_row():
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "solidarity.apps.donations.migrations.0009_search_change_log_first_row"
    )
    SearchChange.objects.all().delete()
    migration.first_row(apps, None)
    migration.first_row(apps, None)  # once only
    assert SearchChange.objects.count() == 1


def test_a_term_is_read_whole_outside_the_lock_other_searches_wait_on(campaign, monkeypatch):
    # Given: every read of the index recorded with whether the shared lock was held
    reads = []
    real = postings._read

    def read(kind, term, between):
        reads.append((term, between is None, postings._lock.locked()))
        return real(kind, term, between)

    monkeypatch.setattr(postings, "_read", read)
    # When: a word no search has read yet, then a change to the index, then the word again
    assert len(_ids(campaign, "hoa")) == 1
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Đỗ Thị Hoa", 9)])
    assert _ids(campaign, "hoa") == _brute(campaign, "hoa")
    # Then: whole reads ran with the lock free; only the changed range was read under it
    whole = [locked for _t, all_of_it, locked in reads if all_of_it]
    ranges = [locked for _t, all_of_it, locked in reads if not all_of_it]
    assert whole and not any(whole)
    assert ranges and all(ranges)


def test_a_replay_swaps_in_a_new_bitmap_instead_of_changing_the_held_one(campaign):
    # Given: a search holding the bitmap of "nguyen" (as one intersecting outside the lock)
    first = postings.postings_match(campaign.pk, query_words("nguyen"))
    key = postings._key("word", query_words("nguyen")[0].fts_term() if _sqlite() else
                        query_words("nguyen")[0].ts_term())  # fmt: skip
    before = postings._terms[key].ids
    kept = sorted(before)
    # When: the index changes and the next search replays the change
    donations_record_many(campaign=campaign, gifts=[_named(campaign, "Nguyễn Thị Mai", 9)])
    assert len(postings.postings_match(campaign.pk, query_words("nguyen")).ids) == 2
    # Then: the bitmap the first search had is untouched; the held one is a new object
    assert sorted(before) == kept == sorted(first.ids)
    assert postings._terms[key].ids is not before


def _sqlite():
    from django.db import connection

    return connection.vendor == "sqlite"


def test_the_books_mark_moves_with_every_booking_and_only_then(campaign):
    from solidarity.apps.donations.search import search_books_mark

    # Given: the mark the indexer saw on its last pass
    before = search_books_mark()
    assert search_books_mark() == before  # nothing booked: the indexer skips its scan
    # When: gifts are booked into this campaign, then into another one
    donations_record_many(
        campaign=campaign, gifts=[_named(campaign, "Trần Thị Mai", 30)], search_later=True
    )
    after_one = search_books_mark()
    other = campaign_factory(slug="another")
    donations_record_many(
        campaign=other, gifts=[_named(other, "Phạm Văn Hùng", 31)], search_later=True
    )
    # Then: each moved the mark (the indexer scans its window again)
    assert before != after_one != search_books_mark()
    assert search_books_mark()[0] == before[0] + 2
