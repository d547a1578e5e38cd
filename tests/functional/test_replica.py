"""Public reads on a replica: used when it answers and keeps up, bypassed when it is down,
never for writes. Runs on PostgreSQL (a second connection to the test database stands in for
the replica: it is not in recovery, so it lags by nothing)."""

from __future__ import annotations

import types

import pytest
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext

from solidarity.apps.campaigns.models import Campaign
from solidarity.web import replica
from tests.factories import campaign_factory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _allow(conn: BaseDatabaseWrapper) -> None:
    """Django's test case refuses connections to aliases it was not given at set-up; this one
    is made during the test, so it gets the real `ensure_connection` back."""
    patched = BaseDatabaseWrapper.ensure_connection
    real = next(
        (
            c.cell_contents
            for c in patched.__closure__ or ()
            if getattr(c.cell_contents, "__name__", "") == "ensure_connection"
        ),
        patched,
    )
    conn.ensure_connection = types.MethodType(real, conn)  # type: ignore[method-assign]


@pytest.fixture
def with_replica():
    """A "replica" alias (given HOST/PORT) and the router, for the test only."""
    added: list[str] = []

    def make(**where: object) -> None:
        cfg = {**connections.settings["default"], **where, "OPTIONS": {"connect_timeout": 1}}
        connections.settings[replica.REPLICA] = cfg
        _allow(connections[replica.REPLICA])
        router.__dict__["routers"] = [replica.ReplicaRouter()]
        replica.replica_forget()
        added.append(replica.REPLICA)

    yield make
    for alias in added:
        connections[alias].close()
        del connections[alias]
        connections.settings.pop(alias, None)
    router.__dict__.pop("routers", None)
    replica.replica_forget()


def test_public_pages_read_from_the_replica_and_nothing_else_does(client, with_replica):
    # Given a campaign and a replica that answers and keeps up
    campaign_factory(slug="cuba")
    with_replica()
    # When the public campaign page is read, its queries go to the replica
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert client.get("/en/c/cuba/").status_code == 200
    assert any("campaigns_campaign" in q["sql"] for q in on_replica.captured_queries)
    # Then writes, and reads outside a public read request, stay on the primary
    assert router.db_for_write(Campaign) == "default"
    assert router.db_for_read(Campaign) == "default"
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        client.post("/en/c/cuba/", {})
    assert not on_replica.captured_queries


def test_a_replica_that_is_down_is_bypassed(client, with_replica):
    # Given a replica whose server does not answer
    campaign_factory(slug="cuba")
    with_replica(HOST="127.0.0.1", PORT="9")
    # When the public pages are read, they answer from the primary
    assert client.get("/en/c/cuba/").status_code == 200
    assert client.get("/c/cuba/statement.csv").status_code == 200
    assert not replica.replica_usable()
