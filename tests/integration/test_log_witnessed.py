"""The sequencer asks the campaign's witnesses (real witness servers on loopback) and
publishes each checkpoint with the cosignatures gathered. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.transparency import sequencer as seq
from solidarity.apps.transparency.logfiles import log_dir
from solidarity.apps.transparency.models import LogState, LogWitness, LogWitnessPolicy
from solidarity.apps.transparency.witnesses import (
    log_witness_add,
    log_witness_quorum_set,
)
from solidarity.core.tlog.checkpoint import checkpoint_open
from solidarity.core.tlog.cosignature import cosigner_parse, note_cosignatures
from solidarity.core.tlog.note import verifier_parse
from solidarity.witness.server import WitnessServer
from solidarity.witness.store import WitnessStore, witness_init
from tests.factories import campaign_factory, gift

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


class Witnesses:
    """Witness servers for a log, started once its key exists."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.servers: list[WitnessServer] = []
        self.vkeys: list[str] = []

    def start(self, n: int, log_vkey: str) -> None:
        for i in range(n):
            d = self.root / f"w{i}"
            self.vkeys.append(witness_init(d, f"w{i}.example.org"))
            server = WitnessServer(WitnessStore(d, [verifier_parse(log_vkey)]), "127.0.0.1", 0)
            server.serve_in_thread()
            self.servers.append(server)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.servers[i].server_address[1]}/"

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()
            s.store.close()


@pytest.fixture
def witnesses(tmp_path):
    w = Witnesses(tmp_path / "witnesses")
    yield w
    w.close()


def book(campaign, n: int) -> None:
    account = campaign.accounts.first()
    donations_record_many(
        campaign=campaign, gifts=[gift(campaign, 10_000 + i, account=account) for i in range(n)]
    )


def published(campaign) -> bytes:
    return (log_dir(campaign.slug) / "checkpoint").read_bytes()


def witnessed_by_two(campaign, witnesses) -> str:
    """Sequence the campaign's log once (its key), start two witnesses of it, add them with
    quorum 2; the log's verifier key."""
    seq.log_sequence_campaign(campaign)
    vkey = LogState.objects.get(campaign=campaign).vkey
    witnesses.start(2, vkey)
    for i in range(2):
        log_witness_add(campaign=campaign, vkey=witnesses.vkeys[i], url=witnesses.url(i))
    log_witness_quorum_set(campaign=campaign, quorum=2)
    return vkey


def test_two_of_three_cosign_when_one_is_down(witnesses, settings):
    settings.SOLIDARITY_WITNESS_TIMEOUT = 1.0
    # Given a log with three witnesses, one of them a host that never answers, and quorum 2
    campaign = campaign_factory()
    seq.log_sequence_campaign(campaign)
    vkey = LogState.objects.get(campaign=campaign).vkey
    witnesses.start(2, vkey)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    down_vkey = witness_init(witnesses.root / "down", "down.example.org")
    log_witness_add(campaign=campaign, vkey=witnesses.vkeys[0], url=witnesses.url(0))
    log_witness_add(campaign=campaign, vkey=witnesses.vkeys[1], url=witnesses.url(1))
    log_witness_add(
        campaign=campaign, vkey=down_vkey, url=f"http://127.0.0.1:{hole.getsockname()[1]}/"
    )
    log_witness_quorum_set(campaign=campaign, quorum=2)
    book(campaign, 30)
    # When the sequencer publishes
    result = seq.log_sequence_campaign(campaign)
    hole.close()
    # Then the checkpoint carries the two cosignatures, and says who is missing
    note = published(campaign)
    cp = checkpoint_open(note, verifier_parse(vkey))
    assert cp.size == result.size
    all_three = [cosigner_parse(k) for k in (*witnesses.vkeys, down_vkey)]
    names = sorted(c.name for c in note_cosignatures(note, all_three))
    assert names == ["w0.example.org", "w1.example.org"]
    policy = LogWitnessPolicy.objects.get(campaign=campaign)
    assert policy.cosigned_size == cp.size
    down = LogWitness.objects.get(name="down.example.org")
    assert "timed out" in down.last_error
    assert down.cosigned_size == 0
    assert down.answered_at is None  # never answered: no last contact
    w0 = LogWitness.objects.get(name="w0.example.org")
    assert w0.cosigned_size == cp.size
    assert w0.answered_at is not None and w0.answered_at == w0.cosigned_at


def test_a_witness_behind_is_caught_up_and_all_passes_stay_consistent(witnesses, settings):
    settings.SOLIDARITY_WITNESS_TIMEOUT = 5.0
    campaign = campaign_factory()
    seq.log_sequence_campaign(campaign)
    vkey = LogState.objects.get(campaign=campaign).vkey
    witnesses.start(2, vkey)
    log_witness_add(campaign=campaign, vkey=witnesses.vkeys[0], url=witnesses.url(0))
    log_witness_quorum_set(campaign=campaign, quorum=1)
    # w0 follows the log for three passes in batches
    for n in (5, 300, 7):
        book(campaign, n)
        seq.log_sequence_campaign(campaign, batch=64)
    # w1 joins late: its first answer tells the log it has never seen it; then it follows
    log_witness_add(campaign=campaign, vkey=witnesses.vkeys[1], url=witnesses.url(1))
    log_witness_quorum_set(campaign=campaign, quorum=2)
    book(campaign, 3)
    seq.log_sequence_campaign(campaign)
    book(campaign, 2)
    seq.log_sequence_campaign(campaign)
    note = published(campaign)
    size = checkpoint_open(note, verifier_parse(vkey)).size
    cosigners = [cosigner_parse(k) for k in witnesses.vkeys]
    assert len(note_cosignatures(note, cosigners)) == 2
    assert [
        s.store.latest(f"solidarity.localhost/{campaign.slug}").size for s in witnesses.servers
    ] == [
        size,
        size,
    ]
    assert LogWitnessPolicy.objects.get(campaign=campaign).cosigned_size == size


def test_a_log_without_witnesses_publishes_as_before(witnesses):
    campaign = campaign_factory()
    book(campaign, 3)
    seq.log_sequence_campaign(campaign)
    assert published(campaign).count("\u2014".encode()) == 1


def test_receipts_embed_the_cosigned_checkpoint_and_need_the_quorum(witnesses, tmp_path):
    import json
    import subprocess
    import sys

    from solidarity.apps.donations.models import Donation
    from solidarity.apps.transparency.selectors import receipt_get
    from solidarity.core.tlog.receipt import ReceiptError, receipt_check

    campaign = campaign_factory()
    vkey = witnessed_by_two(campaign, witnesses)
    book(campaign, 4)
    seq.log_sequence_campaign(campaign)
    ref = Donation.objects.filter(campaign=campaign).first().public_ref
    receipt = receipt_get(slug=campaign.slug, ref=ref).receipt
    assert receipt is not None
    # The receipt carries the checkpoint as published, cosignatures included, and the policy
    assert receipt.checkpoint == published(campaign).decode()
    assert sorted(receipt.witnesses) == sorted(witnesses.vkeys)
    assert receipt.quorum == 2
    check = receipt_check(receipt, vkey)
    assert sorted(check.cosigned_by) == ["w0.example.org", "w1.example.org"]
    # A checkpoint stripped of one cosignature no longer meets the quorum
    lines = receipt.checkpoint.split("\n")
    stripped = "\n".join(line for line in lines if not line.startswith("\u2014 w1."))
    bare = {**receipt.as_dict(), "checkpoint": stripped}
    with pytest.raises(ReceiptError, match=r"1 valid cosignatures .*2 required"):
        receipt_check(bare, vkey)
    assert receipt_check(bare, vkey, quorum=1).cosigned_by == ("w0.example.org",)
    # The command says who cosigned, and refuses the stripped receipt
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(receipt.as_dict()))
    bad.write_text(json.dumps(bare))
    cmd = [sys.executable, "-m", "solidarity.cli", "verify-receipt", "--vkey", vkey]
    out = subprocess.run([*cmd, str(good)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "cosigned by 2 witnesses (w0.example.org, w1.example.org); 2 required" in out.stdout
    out = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "2 required" in out.stderr


def test_the_public_page_shows_the_witnesses_and_the_latest_cosigned_size(witnesses):
    from django.core.cache import cache
    from django.test import Client

    campaign = campaign_factory()
    cache.clear()
    assert (
        "No independent witness cosigns this log yet."
        in Client().get("/en/c/cuba/").content.decode()
    )
    witnessed_by_two(campaign, witnesses)
    book(campaign, 4)
    size = seq.log_sequence_campaign(campaign).size
    cache.clear()
    html = Client().get("/en/c/cuba/").content.decode()
    assert "2 independent witnesses check that the log only grows" in html
    assert "accepted with 2 cosignatures" in html
    assert f"Latest checkpoint cosigned by the quorum: {size} entries." in html
    assert witnesses.vkeys[0] in html and witnesses.vkeys[1] in html


def test_verify_requires_the_quorum_the_log_announced(witnesses, tmp_path):
    import shutil

    from solidarity.core.tlog.verify import LogVerifyError, log_verify
    from solidarity.infra.logreaders import source_open

    campaign = campaign_factory()
    vkey = witnessed_by_two(campaign, witnesses)
    book(campaign, 5)
    seq.log_sequence_campaign(campaign)
    # Given the published files, the quorum and keys are read from the log itself
    report = log_verify(source_open(log_dir(campaign.slug)), vkey)
    assert report.quorum == 2
    assert sorted(report.cosigned_by) == ["w0.example.org", "w1.example.org"]
    assert sorted(report.witnesses) == sorted(witnesses.vkeys)
    # When a copy of the log lacks one cosignature, it is refused; quorum 1 accepts it
    copy = tmp_path / "copy"
    shutil.copytree(log_dir(campaign.slug), copy)
    note = (copy / "checkpoint").read_text()
    (copy / "checkpoint").write_text(
        "\n".join(line for line in note.split("\n") if not line.startswith("\u2014 w1.")) + ""
    )
    with pytest.raises(
        LogVerifyError, match=r"1 valid cosignatures \(w0.example.org\), 2 required"
    ):
        log_verify(source_open(copy), vkey)
    assert log_verify(source_open(copy), vkey, quorum=1).cosigned_by == ["w0.example.org"]
    # A cosignature line tampered with is refused outright
    line = next(x for x in note.split("\n") if x.startswith("\u2014 w0."))
    bad = line[:-6] + ("AAAA==" if not line.endswith("AAAA==") else "BBBB==")
    (copy / "checkpoint").write_text(note.replace(line, bad))
    with pytest.raises(LogVerifyError, match=r"invalid cosignature by w0\.example\.org"):
        log_verify(source_open(copy), vkey)


def test_the_verify_command_reports_who_cosigned(witnesses):
    import subprocess
    import sys

    campaign = campaign_factory()
    seq.log_sequence_campaign(campaign)
    vkey = LogState.objects.get(campaign=campaign).vkey
    witnesses.start(1, vkey)
    log_witness_add(campaign=campaign, vkey=witnesses.vkeys[0], url=witnesses.url(0))
    log_witness_quorum_set(campaign=campaign, quorum=1)
    book(campaign, 2)
    seq.log_sequence_campaign(campaign)
    cmd = [sys.executable, "-m", "solidarity.cli", "verify", str(log_dir(campaign.slug))]
    out = subprocess.run([*cmd, "--vkey", vkey], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "cosigned by 1 of 1 witnesses (w0.example.org); 1 required" in out.stdout
    other = witness_init(witnesses.root / "other", "other.example.org")
    out = subprocess.run(
        [*cmd, "--vkey", vkey, "--witness", other, "--quorum", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "0 valid cosignatures (none), 1 required" in out.stderr


def test_the_log_api_says_who_cosigned_the_checkpoint(witnesses):
    from django.test import Client

    campaign = campaign_factory()
    witnessed_by_two(campaign, witnesses)
    book(campaign, 2)
    seq.log_sequence_campaign(campaign)
    data = Client().get(f"/api/v1/campaigns/{campaign.slug}/log").json()
    assert data["quorum"] == 2
    assert sorted(data["cosigned_by"]) == ["w0.example.org", "w1.example.org"]
    assert sorted(data["witnesses"]) == sorted(witnesses.vkeys)
