"""Key rotation: a log signed by a new key, announced in the log under the old one, still
verifies (whole log and receipts) with the key people were first given."""

from __future__ import annotations

import json

import pytest

from solidarity.apps.transparency import sequencer as seq
from solidarity.apps.transparency.logfiles import key_root, log_dir
from solidarity.apps.transparency.models import LogState
from solidarity.apps.transparency.rotation import log_key_rotate
from solidarity.apps.transparency.selectors import receipt_get
from solidarity.core.tlog.keys import KEYS_PATH
from solidarity.core.tlog.receipt import ReceiptError, receipt_verify
from solidarity.core.tlog.verify import LogVerifyError, log_verify
from solidarity.infra.logreaders import source_open
from tests.factories import campaign_factory
from tests.integration.test_log_sequencer import _book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


def test_a_rotated_key_is_followed_from_the_first_key():
    campaign = campaign_factory(slug="rotate")
    _book(campaign, 5)
    seq.log_sequence_once(durable=False)
    first = LogState.objects.get(campaign=campaign).vkey
    # When the key is rotated and more gifts are published under the new one
    old, new, index = log_key_rotate(campaign=campaign)
    assert old == first and new != first
    assert LogState.objects.get(campaign=campaign).vkey == new
    assert list(key_root().glob("rotate.*.retired"))
    _book(campaign, 4, amount=90_000)
    (result,) = seq.log_sequence_once(durable=False)
    assert result.error is None and result.size == index + 1 + 4
    note = (log_dir("rotate") / "checkpoint").read_text()
    assert note.count("\n— ") == 1  # the new key alone signs the newer checkpoints
    # Then the whole log verifies with the first key, following the announcement
    report = log_verify(source_open(log_dir("rotate")), first)
    assert report.size == result.size and report.kinds["key"] == 1
    # And a receipt of a gift booked after the rotation verifies with the first key too
    ref = campaign.donation_set.order_by("-id").first().public_ref
    receipt = receipt_get(slug="rotate", ref=ref).as_json()
    assert len(receipt["keys"]) == 1
    assert receipt_verify(receipt, first)["ref"] == ref
    assert receipt_verify(receipt, new)["ref"] == ref
    # But not without the link, nor with a forged one
    bare = {k: v for k, v in receipt.items() if k != "keys"}
    with pytest.raises(ReceiptError, match="checkpoint"):
        receipt_verify(bare, first)
    forged = json.loads(json.dumps(receipt))
    forged["keys"][0]["index"] += 1
    with pytest.raises(ReceiptError, match="key rotation"):
        receipt_verify(forged, first)
    (log_dir("rotate") / KEYS_PATH).write_text("[]")
    with pytest.raises(LogVerifyError, match="signature"):
        log_verify(source_open(log_dir("rotate")), first)


def test_a_rotation_cut_off_before_it_recorded_the_new_key_is_finished_by_the_sequencer():
    campaign = campaign_factory(slug="cutoff")
    _book(campaign, 3)
    seq.log_sequence_once(durable=False)
    first = LogState.objects.get(campaign=campaign).vkey
    _, new, _ = log_key_rotate(campaign=campaign)
    # Given the state a crash leaves between the key file swap and recording the key (or a
    # database restored from before the rotation): the log's row names the old key
    LogState.objects.filter(campaign=campaign).update(vkey=first)
    _book(campaign, 2, amount=70_000)
    # When the sequencer runs, the announcement in keys.json lets it go on with the new key
    (result,) = seq.log_sequence_once(durable=False)
    assert result.error is None
    assert LogState.objects.get(campaign=campaign).vkey == new
    log_verify(source_open(log_dir("cutoff")), first)
    # But a key file that no announcement names is still refused
    (key_root() / "cutoff.key").write_text((key_root() / "cutoff.key").read_text())
    LogState.objects.filter(campaign=campaign).update(vkey=first)
    (log_dir("cutoff") / KEYS_PATH).write_text("[]")
    (result,) = seq.log_sequence_once(durable=False)
    assert result.error and "was signed by" in result.error
