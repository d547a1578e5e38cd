"""The indexes every booked gift writes into, exactly: each costs every import a B-tree
insert per gift (a random one for a random key), so one more (a duplicate left by a moved
migration, PostgreSQL's LIKE twin of a unique text column, an index on every log entry's
reference) is a slower import for every campaign. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

EXPECTED = {
    "donations_donation": {
        ("id",),
        ("public_ref",),  # unique: a gift found by its reference
        ("source", "source_ref"),  # unique: booked once
        ("campaign_id", "received_at", "id"),  # statement pages by time
        ("campaign_id", "amount_minor", "id"),  # and by amount
        ("bank_ref",),  # a returned transfer finds its gift
        ("txn_id",),  # a deposit's lines
        ("account_id",),
    },
    "donations_donationprivate": {("id",), ("donation_id",)},
    "transparency_logentry": {
        ("id",),
        ("campaign_id", "index"),  # unique: the log's order
        ("gift",),  # partial: donation entries
        ("ref",),  # partial: every other kind
        ("campaign_id", "kind"),  # partial: every other kind
    },
}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_a_gift_writes_into_these_indexes_and_no_other(table: str):
    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, table)
    indexed = [
        tuple(info["columns"])
        for info in found.values()
        if info["index"] or info["unique"] or info["primary_key"]
    ]
    assert sorted(indexed) == sorted(EXPECTED[table])
