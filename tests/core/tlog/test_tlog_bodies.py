"""Every kind of log entry built through `core.tlog.bodies`: each passes the schema, encodes to
the bytes the log holds for it, and carries only the fields the kind publishes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.money import ExchangeRate, Money
from solidarity.core.tlog import bodies
from solidarity.core.tlog.entry import entry_decode, entry_encode, entry_validate, totals_compute
from solidarity.core.tranches import ItemLine

AT = datetime(2025, 9, 2, 3, 4, 5, tzinfo=UTC)
SHA = "ab" * 32
RICE = ItemLine("gạo", Decimal("2.5"), "tấn", Money(15_000_000, "VND"))
MASKS = ItemLine("masks", Decimal(50_000), "piece", Money(2_000, "VND"))
ORDER = bodies.EvidenceFile("transfer_order", SHA, "application/pdf", 23)
USD = ExchangeRate(
    base="USD", quote="VND", rate=Decimal("26370"), source="Vietcombank", on=date(2025, 9, 1)
)

# (name, body, its canonical bytes): one of each kind, and each shape of a kind.
BUILT: list[tuple[str, dict[str, Any], bytes]] = [
    (
        "donation",
        bodies.donation_body(
            campaign="cuba",
            amount=250_000,
            currency="VND",
            at=AT,
            channel="bank_transfer",
            donor="NGUYEN V** A*",
            ref="MBMP0J1SVA0H",
            commit=SHA,
        ),
        b'{"amount":250000,"at":"2025-09-02T03:04:05Z","campaign":"cuba",'
        b'"channel":"bank_transfer","commit":"' + SHA.encode() + b'","currency":"VND",'
        b'"donor":"NGUYEN V** A*","kind":"donation","ref":"MBMP0J1SVA0H"}',
    ),
    (
        "reversal",
        bodies.reversal_body(
            campaign="cuba",
            amount=250_000,
            currency="VND",
            at=AT + timedelta(microseconds=120_000),
            channel="bank_transfer",
            ref="MBMP0J1SVA0H",
            reason="returned by the bank",
        ),
        b'{"amount":250000,"at":"2025-09-02T03:04:05.120000Z","campaign":"cuba",'
        b'"channel":"bank_transfer","currency":"VND","kind":"reversal",'
        b'"reason":"returned by the bank","ref":"MBMP0J1SVA0H"}',
    ),
    (
        "disbursement",
        bodies.tranche_body(
            campaign="cuba",
            amount=385_000_000_000,
            currency="VND",
            at=AT,
            ref="tranche-1",
            recipient="Cuban Red Cross",
            purpose="Relief",
            on=date(2025, 9, 1),
            approvals=2,
            items=[MASKS],
            evidence=[ORDER],
            rate=USD,
        ),
        b'{"amount":385000000000,"approvals":2,"at":"2025-09-02T03:04:05Z","campaign":"cuba",'
        b'"conversion":{"amount":1459992415,"base":"USD","currency":"USD","on":"2025-09-01",'
        b'"quote":"VND","rate":"26370","source":"Vietcombank"},"currency":"VND",'
        b'"date":"2025-09-01","evidence":[{"kind":"transfer_order","sha256":"'
        + SHA.encode()
        + b'","size":23,"type":"application/pdf"}],"items":[{"item":"masks",'
        b'"quantity":"50000","total":100000000,"unit":"piece","unit_value":2000}],'
        b'"kind":"disbursement","purpose":"Relief","recipient":"Cuban Red Cross",'
        b'"ref":"tranche-1"}',
    ),
    (
        "goods handed over",
        bodies.tranche_body(
            campaign="cuba",
            amount=0,
            currency="VND",
            at=AT,
            ref="tranche-2",
            recipient="Cuban Red Cross",
            purpose="",
            on=date(2025, 9, 1),
            approvals=2,
            items=[RICE],
            evidence=[],
        ),
        '{"amount":37500000,"approvals":2,"at":"2025-09-02T03:04:05Z","campaign":"cuba",'
        '"currency":"VND","date":"2025-09-01","direction":"out","evidence":[],"items":'
        '[{"item":"gạo","quantity":"2.5","total":37500000,"unit":"tấn","unit_value":15000000}],'
        '"kind":"in_kind","purpose":"","recipient":"Cuban Red Cross","ref":"tranche-2"}'.encode(),
    ),
    (
        "goods received",
        bodies.in_kind_received_body(
            campaign="cuba",
            currency="VND",
            at=AT,
            ref="in-kind-1",
            donor="Công ty ABC",
            on=date(2025, 8, 30),
            items=[RICE],
            evidence=[ORDER],
        ),
        '{"amount":37500000,"at":"2025-09-02T03:04:05Z","campaign":"cuba","currency":"VND",'
        '"date":"2025-08-30","direction":"in","donor":"Công ty ABC","evidence":[{"kind":'
        f'"transfer_order","sha256":"{SHA}","size":23,"type":"application/pdf"}}],"items":'
        '[{"item":"gạo","quantity":"2.5","total":37500000,"unit":"tấn","unit_value":15000000}],'
        '"kind":"in_kind","ref":"in-kind-1"}'.encode(),
    ),
    (
        "account with a BIN",
        bodies.account_body(
            campaign="cuba",
            action="added",
            at=AT,
            bank_key="970436",
            number="0011001932418",
            holder="UBMTTQ VN",
        ),
        b'{"account":"0011001932418","action":"added","at":"2025-09-02T03:04:05Z",'
        b'"bank":"Vietcombank","bank_bin":"970436","campaign":"cuba","holder":"UBMTTQ VN",'
        b'"kind":"account"}',
    ),
    (
        "account without a BIN",
        bodies.account_body(
            campaign="cuba",
            action="retired",
            at=AT,
            bank_key="VBSP",
            number="1000007062914729",
            holder="UBMTTQ YEN BAI",
        ),
        b'{"account":"1000007062914729","action":"retired","at":"2025-09-02T03:04:05Z",'
        b'"bank":"VBSP","bank_bin":"","bank_code":"VBSP","campaign":"cuba",'
        b'"holder":"UBMTTQ YEN BAI","kind":"account"}',
    ),
    (
        "account movement",
        bodies.account_movement_body(
            campaign="cuba",
            at=AT,
            bank_key="970436",
            number="0011001932418",
            movement="fee",
            credit=False,
            amount=11_000,
            currency="VND",
        ),
        b'{"account":"970436:0011001932418","amount":11000,"at":"2025-09-02T03:04:05Z",'
        b'"campaign":"cuba","currency":"VND","direction":"out","kind":"account_movement",'
        b'"movement":"fee"}',
    ),
    (
        "update",
        bodies.update_body(campaign="cuba", at=AT, title="Đã đến nơi", text_sha256=SHA),
        f'{{"at":"2025-09-02T03:04:05Z","campaign":"cuba","kind":"update","text_sha256":"{SHA}",'
        '"title":"Đã đến nơi"}'.encode(),
    ),
    (
        "update of a tranche",
        bodies.update_body(campaign="cuba", at=AT, title="Sent", text_sha256=SHA, tranche=7),
        f'{{"at":"2025-09-02T03:04:05Z","campaign":"cuba","kind":"update","text_sha256":"{SHA}",'
        '"title":"Sent","tranche":7}'.encode(),
    ),
    (
        "witness",
        bodies.witness_body(
            campaign="cuba", action="added", at=AT, vkey="w1+00+AA", url="https://w1.example/"
        ),
        b'{"action":"added","at":"2025-09-02T03:04:05Z","campaign":"cuba","kind":"witness",'
        b'"url":"https://w1.example/","vkey":"w1+00+AA"}',
    ),
    (
        "witness quorum",
        bodies.witness_quorum_body(campaign="cuba", at=AT, quorum=2),
        b'{"at":"2025-09-02T03:04:05Z","campaign":"cuba","kind":"witness_quorum","quorum":2}',
    ),
    (
        "key",
        bodies.key_body(campaign="cuba", at=AT, vkey="log+01+BB"),
        b'{"at":"2025-09-02T03:04:05Z","campaign":"cuba","kind":"key","vkey":"log+01+BB"}',
    ),
]


@pytest.mark.parametrize(("name", "body", "encoded"), BUILT, ids=[b[0] for b in BUILT])
def test_every_kind_passes_the_schema_and_encodes_to_its_bytes(
    name: str, body: dict[str, Any], encoded: bytes
) -> None:
    assert entry_validate(body) == []
    assert entry_encode(body) == encoded
    assert entry_decode(encoded) == body


def test_every_builder_is_covered() -> None:
    builders = {n for n in dir(bodies) if n.endswith("_body")}
    kinds = {body["kind"] for _, body, _ in BUILT}
    assert len(builders) == 10
    assert kinds == {
        "donation", "reversal", "disbursement", "in_kind", "account", "account_movement",
        "update", "witness", "witness_quorum", "key",
    }  # fmt: skip


def test_the_totals_rule_counts_goods_and_movements_apart_from_cash() -> None:
    totals = totals_compute(body for _, body, _ in BUILT)["VND"]
    assert (totals.raised, totals.disbursed, totals.gifts) == (0, 385_000_000_000, 0)
    assert (totals.in_kind_received, totals.in_kind_handed_over) == (37_500_000, 37_500_000)


@given(
    amount=st.integers(1, 10**17),
    at=st.integers(0, 100 * 365 * 86_400 * 10**6).map(lambda us: AT + timedelta(microseconds=us)),
    donor=st.text(max_size=120),
    channel=st.sampled_from(["bank_transfer", "wallet", "card", "qr"]),
)
def test_any_gift_and_its_reversal_make_valid_entries(
    amount: int, at: datetime, donor: str, channel: str
) -> None:
    gift = bodies.donation_body(
        campaign="c",
        amount=amount,
        currency="VND",
        at=at,
        channel=channel,
        donor=donor,
        ref="R",
        commit=SHA,
    )
    back = bodies.reversal_body(
        campaign="c", amount=amount, currency="VND", at=at, channel=channel, ref="R", reason=""
    )
    assert entry_decode(entry_encode(gift)) == gift
    assert entry_decode(entry_encode(back)) == back
    assert totals_compute([gift, back])["VND"].raised == 0
