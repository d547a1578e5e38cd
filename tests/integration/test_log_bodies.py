"""The bytes every service writes to the log, pinned: one entry of each kind (and each shape of
a kind) booked through its service, its stored body compared byte for byte with the bytes the
log has always held. Fields that change from run to run (the time of booking, a gift's
reference and commitment, row ids) are read back and put in their place; every other byte is
fixed here. Runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    RateInput,
    in_kind_gift_record,
    tranche_approve,
    tranche_handover,
)
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import donation_reverse, donations_record_many
from solidarity.apps.imports.services import statement_import
from solidarity.apps.transparency.announcements import (
    campaign_update_publish,
    receiving_account_add,
    receiving_account_retire,
)
from solidarity.apps.transparency.models import LogEntry
from solidarity.apps.transparency.rotation import log_key_rotate
from solidarity.apps.transparency.witnesses import (
    log_witness_add,
    log_witness_quorum_set,
    log_witness_remove,
)
from solidarity.core.tlog.cosignature import cosigner_key_generate
from solidarity.core.tlog.entry import entry_decode
from solidarity.core.tranches import item_parse
from tests.factories import campaign_factory, gift
from tests.integration.tranche_helpers import funded_campaign, people, propose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


def _body(entry: LogEntry) -> bytes:
    return bytes(entry.body)


def _pinned(entry: LogEntry, template: str, **values: object) -> tuple[bytes, bytes]:
    """(the stored body, `template` with `<at>` and each `<name>` of `values` filled in)."""
    body = _body(entry)
    filled = template.replace("<at>", entry_decode(body)["at"])
    for name, value in values.items():
        filled = filled.replace(f"<{name}>", str(value))
    return body, filled.encode()


def _last(campaign, kind: str) -> LogEntry:
    return LogEntry.objects.filter(campaign=campaign, kind=kind).order_by("-id").first()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def who(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return people()


def _handed_over(tranche, who, evidence=()):
    """`tranche` approved by two approvers and handed over."""
    tranche_approve(tranche=tranche, by=who["lan"])
    tranche_approve(tranche=tranche, by=who["minh"])
    return tranche_handover(tranche=tranche, by=who["thu"], evidence=evidence)


def test_a_gift_and_its_reversal():
    campaign = campaign_factory(goal=10**12)
    when = datetime(2025, 9, 2, 3, 4, 5, tzinfo=UTC)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 250_000, received_at=when)])
    donation = Donation.objects.select_related("private").get()
    body, expected = _pinned(
        _last(campaign, "donation"),
        '{"amount":250000,"at":"2025-09-02T03:04:05Z","campaign":"cuba",'
        '"channel":"bank_transfer","commit":"<commit>","currency":"VND","donor":"NGUYEN V** A*",'
        '"kind":"donation","ref":"<ref>"}',
        commit=donation.private.commitment,
        ref=donation.public_ref,
    )
    assert body == expected
    back = datetime(2025, 9, 3, 0, 0, 0, 120000, tzinfo=UTC)
    donation_reverse(
        donation=donation, source="test", source_ref="r1", reversed_at=back, reason="trả lại"
    )
    body, expected = _pinned(
        _last(campaign, "reversal"),
        '{"amount":250000,"at":"2025-09-03T00:00:00.120000Z","campaign":"cuba",'
        '"channel":"bank_transfer","currency":"VND","kind":"reversal","reason":"trả lại",'
        '"ref":"<ref>"}',
        ref=donation.public_ref,
    )
    assert body == expected


def test_a_cash_tranche_with_its_conversion_and_goods_and_a_goods_tranche(who):
    campaign = funded_campaign(400_000_000_000)
    order, minutes = b"%PDF-1.7 transfer order", b"\x89PNG\r\n\x1a\nminutes"
    t = propose(
        campaign,
        who["thu"],
        385_000_000_000,
        purpose="Relief for the people of Cuba",
        rate=RateInput(Decimal("26370"), "USD", "Vietcombank", date(2025, 9, 1)),
        items=[item_parse("masks:50000:piece:2000", "VND")],
        evidence=[EvidenceInput("order.pdf", order, "transfer_order")],
    )
    t = _handed_over(t, who, [EvidenceInput("minutes.png", minutes, "handover_minutes")])
    body, expected = _pinned(
        _last(campaign, "disbursement"),
        '{"amount":385000000000,"approvals":2,"at":"<at>","campaign":"cuba",'
        '"conversion":{"amount":1459992415,"base":"USD","currency":"USD","on":"2025-09-01",'
        '"quote":"VND","rate":"26370","source":"Vietcombank"},"currency":"VND",'
        '"date":"2025-09-01","evidence":[{"kind":"transfer_order","sha256":"<order>",'
        '"size":23,"type":"application/pdf"},{"kind":"handover_minutes","sha256":"<minutes>",'
        '"size":15,"type":"image/png"}],"items":[{"item":"masks","quantity":"50000",'
        '"total":100000000,"unit":"piece","unit_value":2000}],"kind":"disbursement",'
        '"purpose":"Relief for the people of Cuba","recipient":"Cuban Red Cross",'
        '"ref":"tranche-<id>"}',
        order=_sha(order),
        minutes=_sha(minutes),
        id=t.pk,
    )
    assert body == expected
    goods = propose(campaign, who["thu"], 0, items=[item_parse("rice:1.5:tonne:15000000", "VND")])
    goods = _handed_over(goods, who)
    body, expected = _pinned(
        _last(campaign, "in_kind"),
        '{"amount":22500000,"approvals":2,"at":"<at>","campaign":"cuba","currency":"VND",'
        '"date":"2025-09-01","direction":"out","evidence":[],"items":[{"item":"rice",'
        '"quantity":"1.5","total":22500000,"unit":"tonne","unit_value":15000000}],'
        '"kind":"in_kind","purpose":"","recipient":"Cuban Red Cross","ref":"tranche-<id>"}',
        id=goods.pk,
    )
    assert body == expected


def test_goods_received(who):
    campaign = funded_campaign()
    note = b"%PDF-1.4 delivery note"
    g = in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Nguyễn Văn An",
        donor_kind="person",
        privacy="masked",
        received_on=date(2025, 9, 10),
        items=[item_parse("đường:1E+4:kg:20000", "VND")],
        evidence=[EvidenceInput("phieu.pdf", note, "delivery_note")],
    )
    body, expected = _pinned(
        _last(campaign, "in_kind"),
        '{"amount":200000000,"at":"<at>","campaign":"cuba","currency":"VND",'
        '"date":"2025-09-10","direction":"in","donor":"Nguyễn V** A*","evidence":[{"kind":'
        '"delivery_note","sha256":"<note>","size":22,"type":"application/pdf"}],"items":'
        '[{"item":"đường","quantity":"10000","total":200000000,"unit":"kg",'
        '"unit_value":20000}],"kind":"in_kind","ref":"<ref>"}',
        note=_sha(note),
        ref=g.log_ref,
    )
    assert body == expected
    assert "Nguyễn Văn An" not in body.decode()


def test_accounts_announced_and_retired():
    campaign = campaign_factory(accounts=())
    with_bin = receiving_account_add(
        campaign=campaign, account=AccountInput("970436", "0011001932418", "UBMTTQ VN")
    )
    body, expected = _pinned(
        _last(campaign, "account"),
        '{"account":"0011001932418","action":"added","at":"<at>","bank":"Vietcombank",'
        '"bank_bin":"970436","campaign":"cuba","holder":"UBMTTQ VN","kind":"account"}',
    )
    assert body == expected
    receiving_account_add(
        campaign=campaign, account=AccountInput("VBSP", "1000007062914729", "UBMTTQ YEN BAI")
    )
    body, expected = _pinned(
        _last(campaign, "account"),
        '{"account":"1000007062914729","action":"added","at":"<at>","bank":"VBSP",'
        '"bank_bin":"","bank_code":"VBSP","campaign":"cuba","holder":"UBMTTQ YEN BAI",'
        '"kind":"account"}',
    )
    assert body == expected
    receiving_account_retire(account=with_bin)
    body, expected = _pinned(
        _last(campaign, "account"),
        '{"account":"0011001932418","action":"retired","at":"<at>","bank":"Vietcombank",'
        '"bank_bin":"970436","campaign":"cuba","holder":"UBMTTQ VN","kind":"account"}',
    )
    assert body == expected


def test_updates_with_and_without_a_tranche(who):
    campaign = funded_campaign()
    text = "Hàng đã đến Havana.\n\nCảm ơn mọi người."
    campaign_update_publish(campaign=campaign, title="Đã đến nơi", text=text)
    body, expected = _pinned(
        _last(campaign, "update"),
        '{"at":"<at>","campaign":"cuba","kind":"update","text_sha256":"<sha>",'
        '"title":"Đã đến nơi"}',
        sha=_sha(text.encode()),
    )
    assert body == expected
    t = propose(campaign, who["thu"], 1000)
    campaign_update_publish(campaign=campaign, title="Tranche", text="sent", tranche_id=t.pk)
    body, expected = _pinned(
        _last(campaign, "update"),
        '{"at":"<at>","campaign":"cuba","kind":"update","text_sha256":"<sha>",'
        '"title":"Tranche","tranche":<id>}',
        sha=_sha(b"sent"),
        id=t.pk,
    )
    assert body == expected


def test_witnesses_and_quorum():
    campaign = campaign_factory()
    vkey = cosigner_key_generate("w1.example.org", b"\x01" * 32)[1]
    log_witness_add(campaign=campaign, vkey=vkey, url="https://w1.example.org/")
    template = (
        '{"action":"<action>","at":"<at>","campaign":"cuba","kind":"witness",'
        '"url":"https://w1.example.org/","vkey":"<vkey>"}'
    )
    body, expected = _pinned(_last(campaign, "witness"), template, action="added", vkey=vkey)
    assert body == expected
    log_witness_quorum_set(campaign=campaign, quorum=1)
    body, expected = _pinned(
        _last(campaign, "witness_quorum"),
        '{"at":"<at>","campaign":"cuba","kind":"witness_quorum","quorum":1}',
    )
    assert body == expected
    log_witness_quorum_set(campaign=campaign, quorum=0)
    log_witness_remove(campaign=campaign, name="w1.example.org")
    body, expected = _pinned(_last(campaign, "witness"), template, action="removed", vkey=vkey)
    assert body == expected


def test_a_new_signing_key():
    from solidarity.apps.transparency import sequencer as seq

    campaign = campaign_factory(slug="rotate")
    seq.log_sequence_once(durable=False)
    _, new, _ = log_key_rotate(campaign=campaign)
    body, expected = _pinned(
        _last(campaign, "key"),
        '{"at":"<at>","campaign":"rotate","kind":"key","vkey":"<vkey>"}',
        vkey=new,
    )
    assert body == expected


def test_an_account_movement(tmp_path: Path):
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    path = tmp_path / "fee.csv"
    head = "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
    path.write_text(head + "12/09/2024,5213.7,11.000,,PHI DICH VU SMS BANKING\n", "utf-8")
    statement_import(path=path)
    movement = _last(campaign, "account_movement")
    body, expected = _pinned(
        movement,
        '{"account":"970436:0011001932418","amount":11000,"at":"2024-09-11T17:00:00Z",'
        '"campaign":"cuba","currency":"VND","direction":"out","kind":"account_movement",'
        '"movement":"fee"}',
    )
    assert body == expected
    assert movement.ref.startswith("m")
