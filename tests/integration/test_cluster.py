"""Many nodes, one database: the log's files in the database, leases, compare-and-set.

Runs on SQLite and again on PostgreSQL; the race between two sequencer processes needs
PostgreSQL (two processes writing one SQLite file are one host's business: its flock).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.transparency import sequencer as seq
from solidarity.apps.transparency.models import LogState
from solidarity.apps.transparency.selectors import consistency_proof_get, log_file_read
from solidarity.apps.transparency.tilestore import DatabaseTileStore
from solidarity.apps.workers.leases import LeaseKeeper, lease_holder, lease_release, lease_take
from solidarity.core.tlog.checkpoint import checkpoint_open
from solidarity.core.tlog.note import verifier_parse
from solidarity.core.tlog.proof import consistency_verify
from solidarity.core.tlog.tiles import TileConflictError, bundles_for_size, tiles_for_size
from tests.factories import campaign_factory, gift

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_store(settings, tmp_path: Path) -> Path:
    """Published files in the database whatever the engine; keys in the test's directory."""
    settings.SOLIDARITY_LOG_STORE = "database"
    settings.SOLIDARITY_KEY_DIR = str(tmp_path / "secrets" / "keys")
    settings.SOLIDARITY_LOCK_DIR = str(tmp_path / "locks")
    return tmp_path


def _book(campaign, n: int, start: int = 0) -> None:
    account = campaign.accounts.first()
    donations_record_many(
        campaign=campaign,
        gifts=[gift(campaign, 50_000 + start + i, account=account) for i in range(n)],
    )


@pytest.mark.django_db
def test_tiles_are_written_once_and_the_checkpoint_only_on_top_of_the_one_read(db_store):
    store = DatabaseTileStore("cas")
    # Given a tile and a first checkpoint
    store.write_once_many([("tile/0/000.p/1", b"a" * 32)])
    store.replace_if("checkpoint", b"one", None)
    # When the same bytes are written again: nothing happens; other bytes: refused
    store.write_once("tile/0/000.p/1", b"a" * 32)
    with pytest.raises(TileConflictError):
        store.write_once("tile/0/000.p/1", b"b" * 32)
    # Then a checkpoint replaces only the one its writer read
    with pytest.raises(TileConflictError):
        store.replace_if("checkpoint", b"two", None)
    with pytest.raises(TileConflictError):
        store.replace_if("checkpoint", b"two", b"stale")
    store.replace_if("checkpoint", b"two", b"one")
    assert store.read("checkpoint") == b"two"
    assert store.read("tile/0/000.p/1") == b"a" * 32
    assert store.partial_widths("tile/0/000") == [1]


@pytest.mark.django_db
def test_every_node_serves_the_log_from_the_database(db_store):
    # Given a log sequenced into the database store
    campaign = campaign_factory(slug="shared")
    _book(campaign, 300)
    (done,) = seq.log_sequence_once(slugs=["shared"])
    assert done.size == 301 and done.error is None
    # Then no published file is on this node's disk, and the served bytes are the stored ones
    assert not (db_store / "log").exists()
    store = DatabaseTileStore("shared")
    note = log_file_read(slug="shared", path="checkpoint")
    assert note == store.read("checkpoint")
    cp = checkpoint_open(note, verifier_parse(LogState.objects.get(pk=campaign.pk).vkey))
    for tile in [*tiles_for_size(cp.size), *bundles_for_size(cp.size)]:
        assert log_file_read(slug="shared", path=tile.path) == store.read(tile.path)
    # And a proof between two published sizes verifies (an older partial tile is served
    # from the wider one stored)
    _book(campaign, 20, start=1000)
    (more,) = seq.log_sequence_once(slugs=["shared"])
    proof = consistency_proof_get(slug="shared", old=done.size, new=more.size)
    new = checkpoint_open(store.read("checkpoint"), verifier_parse(LogState.objects.get().vkey))
    consistency_verify(
        done.size, new.size, cp.root, new.root, [base64.b64decode(h) for h in proof["proof"]]
    )


@pytest.mark.django_db
def test_a_lease_has_one_holder_and_passes_on_when_it_expires():
    # Given a lease held by node a
    assert lease_take(name="role", holder="a", seconds=0.5)
    # When node b asks while it is held: refused; a renews: granted
    assert not lease_take(name="role", holder="b", seconds=0.5)
    assert lease_take(name="role", holder="a", seconds=0.5)
    assert lease_holder(name="role") == "a"
    # Then once a stops renewing, b gets it (after the expiry, never before)
    while not lease_take(name="role", holder="b", seconds=30):
        time.sleep(0.05)
    assert lease_holder(name="role") == "b"
    assert not lease_take(name="role", holder="a", seconds=0.5)
    # And a released lease is free at once
    lease_release(name="role", holder="b")
    assert lease_take(name="role", holder="a", seconds=30)


@pytest.mark.django_db(transaction=True)
def test_a_keeper_holds_its_lease_until_it_stops():
    first = LeaseKeeper("keeper", seconds=0.6).start()
    second = LeaseKeeper("keeper", seconds=0.6).start()
    try:
        assert first.held and not second.held
        # While the first keeps renewing (three renewals per lease), the second never gets it
        for _ in range(3):
            assert not second.try_once()
            time.sleep(0.3)
        assert lease_holder(name="keeper") == first.holder
        # When the first stops, the second takes over
        first.stop()
        while not second.try_once():
            time.sleep(0.05)
        assert second.held
    finally:
        first.stop(release=False)
        second.stop()


NODE = textwrap.dedent(
    """
    import contextlib, hashlib, json, sys, time
    import django
    django.setup()
    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.transparency import sequencer as seq
    from solidarity.apps.transparency.tilestore import DatabaseTileStore
    from solidarity.core.tlog.tiles import TileError

    # This node believes it leads, whatever the lease says: only the checkpoint's
    # compare-and-set stands between two such nodes and a fork.
    @contextlib.contextmanager
    def leader(slug):
        yield True
    seq.log_lock = leader

    cas = DatabaseTileStore.replace_if
    def recorded(self, path, data, expected):
        cas(self, path, data, expected)
        size = lambda note: int(note.split(b"\\n")[1]) if note else 0
        print(json.dumps({"from": hashlib.sha256(expected or b"").hexdigest(),
                          "from_size": size(expected), "note": hashlib.sha256(data).hexdigest(),
                          "size": size(data), "text": data.decode()}), flush=True)
    DatabaseTileStore.replace_if = recorded

    campaign = Campaign.objects.get(slug=sys.argv[1])
    go = float(sys.argv[2])
    while time.time() < go:
        time.sleep(0.001)
    conflicts = 0
    for _ in range(int(sys.argv[3])):
        try:
            seq.log_sequence_campaign(campaign, batch=3, durable=False)
        except TileError:
            conflicts += 1
    print(json.dumps({"conflicts": conflicts}), flush=True)
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sequencers_started_at_once_never_publish_two_checkpoints_of_one_size(db_store):
    # Given a log with entries waiting, on a database two "nodes" (processes) share
    campaign = campaign_factory(slug="race")
    _book(campaign, 1)
    seq.log_sequence_once(slugs=["race"])
    _book(campaign, 200, start=10)
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{s['NAME']}",
        "SOLIDARITY_HOME": str(db_store / "home"),
        "SOLIDARITY_SECRETS_DIR": str(db_store / "secrets"),
        "SOLIDARITY_LOG_STORE": "database",
        "DJANGO_SETTINGS_MODULE": "solidarity.web.settings",
    }
    connection.close()
    # When both start sequencing at the same instant, each several passes
    go = str(time.time() + 3)
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", NODE, "race", go, "40"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [n.communicate(timeout=240) for n in nodes]
    assert all(n.returncode == 0 for n in nodes), [err[-2000:] for _, err in outs]
    published = [json.loads(line) for out, _ in outs for line in out.splitlines()]
    writes = [p for p in published if "note" in p]
    # Then the checkpoints published form one chain: each replaced exactly the one before it,
    # no size was published twice, and the log only grew
    by_size = Counter(w["size"] for w in writes)
    assert by_size and max(by_size.values()) == 1, by_size
    replaced = Counter(w["from"] for w in writes)
    assert max(replaced.values()) == 1, "two checkpoints were published on top of one"
    assert all(w["size"] > w["from_size"] for w in writes)
    chain = {w["from"]: w for w in writes}
    assert len(chain) == len(writes)
    # And the last one published is the log's checkpoint, covering every entry
    final = DatabaseTileStore("race").read("checkpoint")
    assert final is not None and int(final.split(b"\n")[1]) == 202
    assert max(writes, key=lambda w: w["size"])["text"].encode() == final


@pytest.mark.django_db
def test_a_lease_of_a_dead_process_of_this_host_is_taken_at_once():
    # Given a lease held for a long time by a process of this host that has since exited
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:sequencer:0"
    assert lease_take(name="dead", holder=dead, seconds=3600)
    # When a new keeper asks, it takes the lease without waiting for the expiry
    keeper = LeaseKeeper("dead", seconds=3600)
    assert keeper.try_once()
    assert lease_holder(name="dead") == keeper.holder
    # Then a live holder's lease is never taken that way
    assert not LeaseKeeper("dead", seconds=3600).try_once()
