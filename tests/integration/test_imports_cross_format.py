"""Property: one bank statement written as camt.053, camt.054, MT940, CSV and XLSX, imported
as overlapping whole-day subsets in any format and order, some files twice, books every
transfer once and every returned transfer once (IDENTITY.md). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from bench.gen_statement import FORMATS, ICT, Row, rows_write
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, PendingReversal, ReviewItem
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.imports.services import statement_import
from solidarity.apps.ledger.selectors import campaign_totals
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

DAYS = 4
SUFFIX = {"csv": "csv", "xlsx": "xlsx", "camt.053": "xml", "camt.054": "xml", "mt940": "sta"}
gift = st.tuples(
    st.integers(1, DAYS),  # day of September 2024
    st.sampled_from(["5213.10001", "5213.10002", "FT24250000007"]),  # repeated within a day
    st.sampled_from([10_000, 200_000, 500_000]),
    st.sampled_from(["Ung ho Cuba", "NGUYEN VAN AN chuyen tien ung ho Cu Ba", "IBFT CUBA", ""]),
)
window = st.tuples(st.sampled_from(FORMATS), st.integers(1, DAYS), st.integers(1, DAYS))


def statement(gifts, returned, fees) -> list[Row]:
    """The bank's statement: the gifts, a return of each gift in `returned` (flagged, its
    memo naming the gift's document number), `fees` SMS fees; in booking order."""
    rows = [
        Row(datetime(2024, 9, day, 9, i, tzinfo=ICT), doc, "credit", amount, memo, None)
        for i, (day, doc, amount, memo) in enumerate(gifts)
    ]
    for k, i in enumerate(sorted(set(returned))):
        day, doc, amount, _ = gifts[i]
        memo = f"HOAN TRA GD {doc} do sai thong tin"
        at = datetime(2024, 9, day, 20, k, tzinfo=ICT)
        rows.append(Row(at, f"5299.{k:05d}", "debit", amount, memo, None, reversal=True))
    for k in range(fees):
        at = datetime(2024, 9, 1 + k % DAYS, 21, k, tzinfo=ICT)
        rows.append(Row(at, f"5288.{k:05d}", "debit", 5_500, "Phi dich vu SMS", None))
    return sorted(rows, key=lambda r: r.booked_at)


def books(campaign) -> tuple[int, int, int, int, int, int, int]:
    t = campaign_totals(campaign=campaign)
    return (
        t["raised_minor"],
        Donation.objects.count(),
        t["donation_count"],
        t["reversal_count"],
        AccountMovement.objects.count(),
        ReviewItem.objects.count(),
        PendingReversal.objects.filter(resolved_at__isnull=True).count(),
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    gifts=st.lists(gift, min_size=1, max_size=12),
    returned=st.lists(st.integers(0, 11), max_size=3),
    fees=st.integers(0, 2),
    windows=st.lists(window, min_size=1, max_size=5),
    last=st.sampled_from(FORMATS),
    again=st.randoms(use_true_random=False),
)
def test_one_statement_in_every_format_books_each_transfer_once(
    gifts, returned, fees, windows, last, again
):
    returned = [i for i in returned if i < len(gifts)]
    rows = statement(gifts, returned, fees)
    reversed_amount = sum(gifts[i][2] for i in set(returned))
    expected = (
        sum(g[2] for g in gifts) - reversed_amount,
        len(gifts),
        len(gifts) - len(set(returned)),  # a returned gift no longer counts
        len(set(returned)),
        fees,
        0,
        0,
    )
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        directory = Path(tmp)
        campaign = campaign_factory(
            slug="c", goal=10**12, accounts=(AccountInput("970436", "0011001932418"),)
        )

        def write(name: str, fmt: str, part: list[Row]) -> Path:
            path = directory / f"{name}.{SUFFIX[fmt]}"
            rows_write(path, part, fmt=fmt)
            return path

        # Given whole-day parts of the statement, each in some format
        parts = []
        for n, (fmt, a, b) in enumerate(windows):
            lo, hi = sorted((a, b))
            part = [r for r in rows if lo <= r.booked_at.day <= hi]
            if part:
                parts.append((write(f"part{n}", fmt, part), set(range(lo, hi + 1))))
        covered: set[int] = set()
        # When they are imported one by one
        for path, days in parts:
            assert statement_import(path=path).status == "done", path.name
            covered |= days
            # Then each gift of the days seen so far is booked once, however many formats
            # carried it
            gifts_seen = sum(1 for g in gifts if g[0] in covered)
            assert books(campaign)[1] == gifts_seen, path.name
        # and after the whole statement in one more format, and some parts again, the books
        # are the statement's: every gift once, every return once, every fee once
        assert statement_import(path=write("whole", last, rows)).status == "done"
        for path, _ in again.sample(parts, min(2, len(parts))):
            assert statement_import(path=path).status == "done"
        assert books(campaign) == expected
        assert ledger_check().ok
        transaction.set_rollback(True)


@pytest.mark.parametrize("order", [("camt.053", "csv"), ("csv", "camt.053"), ("mt940", "xlsx")])
def test_a_return_only_one_format_recognises_is_booked_once(tmp_path: Path, order):
    # Given a gift and a return the bank flags in camt/MT940 whose memo names no reference,
    # so a CSV/XLSX reads it as a plain debit
    campaign = campaign_factory(
        slug="c", goal=10**12, accounts=(AccountInput("970436", "0011001932418"),)
    )
    rows = [
        Row(datetime(2024, 9, 2, 9, 0, tzinfo=ICT), "5213.1", "credit", 200_000, "Cuba", None),
        Row(
            datetime(2024, 9, 2, 9, 30, tzinfo=ICT),
            "5213.2",
            "debit",
            200_000,
            "Tra lai",
            None,
            True,
        ),
    ]
    # When both formats are imported, in either order
    for n, fmt in enumerate(order):
        path = tmp_path / f"s{n}.{SUFFIX[fmt]}"
        rows_write(path, rows, fmt=fmt)
        assert statement_import(path=path).status == "done"
    # Then the debit is booked once: as a return or as money out, never both
    debits = AccountMovement.objects.count() + PendingReversal.objects.count()
    assert debits + campaign_totals(campaign=campaign)["reversal_count"] == 1
    assert Donation.objects.count() == 1
