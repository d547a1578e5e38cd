"""Property: overlapping whole-day files, imported in any order and more than once, book the
same totals as one clean import of the whole statement (IDENTITY.md's precondition holds:
every file holds whole days). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, PendingReversal, ReviewItem
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.imports.services import statement_import
from solidarity.apps.ledger.selectors import campaign_totals
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

HEAD = "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
row = st.tuples(
    st.integers(1, 4),  # day of September 2024
    st.sampled_from(["5213.1", "5213.2", "FT24250000000007"]),  # repeated document numbers
    st.sampled_from([("", "200.000"), ("", "500.000"), ("5.500", ""), ("200.000", "")]),
    st.sampled_from(["Ung ho Cuba", "", "Phi SMS", "HOAN TRA GD FT24250000000007", "lu lut"]),
)


def _write(directory: Path, name: str, rows) -> Path:
    path = directory / name
    lines = [
        f"{d:02d}/09/2024,{ref},{debit},{credit},{memo}" for d, ref, (debit, credit), memo in rows
    ]
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _state(slug: str) -> tuple:
    t = campaign_totals(campaign=CAMPAIGNS[slug])
    return (
        t["raised_minor"],
        t["donation_count"],
        t["reversal_count"],
        t["review_count"],
        AccountMovement.objects.count(),
        ReviewItem.objects.count(),
        PendingReversal.objects.filter(resolved_at__isnull=True).count(),
    )


CAMPAIGNS: dict = {}


def _books_after(paths: list[Path]) -> tuple:
    """The campaign's books after importing `paths` in order into a fresh campaign; the
    database is rolled back afterwards. The ledger must check clean."""
    with transaction.atomic():
        CAMPAIGNS["c"] = campaign_factory(
            slug="c", goal=10**12, accounts=(AccountInput("970436", "0011001932418"),)
        )
        for path in paths:
            assert statement_import(path=path).status == "done"
        state = _state("c")
        assert ledger_check().ok
        transaction.set_rollback(True)
    return state


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(row, min_size=1, max_size=25),
    cuts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    order=st.randoms(use_true_random=False),
    repeat=st.booleans(),
)
def test_overlapping_day_files_in_any_order_give_the_same_totals(rows, cuts, order, repeat):
    rows = sorted(rows, key=lambda r: r[0])
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        whole = _write(directory, "whole.csv", rows)
        # whole-day windows [1, c1], [c1, c2], ..., [ck, 4]: they overlap on the cut days
        # and together cover every day
        bounds = [1, *sorted(cuts), 4]
        files = [
            _write(directory, f"part{i}.csv", [r for r in rows if lo <= r[0] <= hi])
            for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
        ]
        # Given a clean import of the whole statement
        clean = _books_after([whole])
        # When the overlapping parts are imported in a random order, some twice
        order.shuffle(files)
        # Then the totals are those of the clean import
        assert _books_after(files + (files[:2] if repeat else [])) == clean


RETURN = ("200.000", "")
GIFT = ("", "200.000")
MEMO = "HOAN TRA GD FT24250000000007"


@pytest.mark.parametrize(
    "rows",
    [
        # two returns of one gift: the second waits for another gift with that reference
        [(1, "FT24250000000007", GIFT, "Ung ho Cuba"), (1, "5213.1", RETURN, MEMO),
         (2, "5213.1", RETURN, MEMO)],
        # returns before their gift, the gift days later
        [(1, "5213.1", RETURN, MEMO), (3, "5213.1", RETURN, MEMO),
         (4, "FT24250000000007", GIFT, "Ung ho Cuba")],
        # two gifts sharing a reference (Vietcombank repeats them), two returns
        [(1, "5213.1", RETURN, MEMO), (1, "5213.1", RETURN, MEMO),
         (1, "FT24250000000007", GIFT, "Ung ho Cuba"), (2, "FT24250000000007", GIFT, "x")],
    ],
)  # fmt: skip
@pytest.mark.parametrize("cut", [1, 2, 3])
@pytest.mark.parametrize("reverse_order", [False, True])
def test_returned_transfers_book_the_same_whatever_the_file_order(rows, cut, reverse_order):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        whole = _write(directory, "whole.csv", rows)
        files = [
            _write(directory, "a.csv", [r for r in rows if r[0] <= cut]),
            _write(directory, "b.csv", [r for r in rows if r[0] >= cut]),
        ]
        if reverse_order:
            files.reverse()
        # Given one clean import of the whole statement, when the two overlapping halves
        # are imported in either order, then nothing is counted twice or lost
        assert _books_after(files) == _books_after([whole])
