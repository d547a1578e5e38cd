"""A campaign's witnesses and quorum: each change announced in its log, every refusal with
its reason and nothing written. Runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

import pytest

from solidarity.apps.transparency.models import LogEntry, LogWitness
from solidarity.apps.transparency.witnesses import (
    WitnessConfigError,
    log_witness_add,
    log_witness_endpoints,
    log_witness_quorum,
    log_witness_quorum_set,
    log_witness_remove,
    log_witness_summary,
)
from solidarity.core.tlog.cosignature import cosigner_key_generate
from solidarity.core.tlog.entry import entry_decode
from solidarity.core.tlog.note import key_generate
from tests.factories import campaign_factory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


def wkey(n: int) -> str:
    return cosigner_key_generate(f"w{n}.example.org", bytes([n]) * 32)[1]


def entries(campaign, kind):
    return [
        entry_decode(bytes(e.body))
        for e in LogEntry.objects.filter(campaign=campaign, kind=kind).order_by("index")
    ]


def test_witnesses_and_quorum_are_announced_in_the_log():
    campaign = campaign_factory()
    for n in (1, 2, 3):
        log_witness_add(campaign=campaign, vkey=wkey(n), url=f"https://w{n}.example.org/")
    log_witness_quorum_set(campaign=campaign, quorum=2)
    log_witness_remove(campaign=campaign, name="w3.example.org")

    announced = entries(campaign, "witness")
    assert [(e["action"], e["vkey"]) for e in announced] == [
        ("added", wkey(1)),
        ("added", wkey(2)),
        ("added", wkey(3)),
        ("removed", wkey(3)),
    ]
    assert announced[0]["url"] == "https://w1.example.org/"
    assert [e["quorum"] for e in entries(campaign, "witness_quorum")] == [2]
    assert log_witness_quorum(campaign) == 2
    assert [e.cosigner.name for e in log_witness_endpoints(campaign)] == [
        "w1.example.org",
        "w2.example.org",
    ]
    summary = log_witness_summary(campaign)
    assert summary["quorum"] == 2
    assert [w["name"] for w in summary["witnesses"]] == ["w1.example.org", "w2.example.org"]


def test_refusals_name_every_reason_and_write_nothing():
    campaign = campaign_factory()
    before = LogEntry.objects.filter(campaign=campaign).count()
    _, log_vkey = key_generate("log.example.org", b"\x09" * 32)
    with pytest.raises(WitnessConfigError) as e:
        log_witness_add(campaign=campaign, vkey=log_vkey, url="ftp://x")
    assert len(e.value.errors) == 2
    assert "type 0x01" in e.value.errors[0]
    assert "--url" in e.value.errors[1]
    log_witness_add(campaign=campaign, vkey=wkey(1), url="http://127.0.0.1:9/")
    with pytest.raises(WitnessConfigError, match="already a witness"):
        log_witness_add(campaign=campaign, vkey=wkey(1), url="http://127.0.0.1:9/")
    with pytest.raises(WitnessConfigError, match="between 0 and the 1 active"):
        log_witness_quorum_set(campaign=campaign, quorum=2)
    log_witness_quorum_set(campaign=campaign, quorum=1)
    with pytest.raises(WitnessConfigError, match="lower the quorum first"):
        log_witness_remove(campaign=campaign, name="w1.example.org")
    with pytest.raises(WitnessConfigError, match="not an active witness"):
        log_witness_remove(campaign=campaign, name="nobody")
    assert LogEntry.objects.filter(campaign=campaign).count() == before + 2
    assert LogWitness.objects.filter(campaign=campaign).count() == 1


def test_a_removed_witness_can_be_added_again():
    campaign = campaign_factory()
    log_witness_add(campaign=campaign, vkey=wkey(1), url="http://127.0.0.1:9/")
    log_witness_remove(campaign=campaign, name=wkey(1))
    log_witness_add(campaign=campaign, vkey=wkey(1), url="http://127.0.0.1:10/")
    assert LogWitness.objects.filter(campaign=campaign).count() == 2
    assert [e.url for e in log_witness_endpoints(campaign)] == ["http://127.0.0.1:10/"]
