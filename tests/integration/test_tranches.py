"""Tranches: approval rules, balance checks, booking, the log entry, in-kind gifts, the statement.

Runs on SQLite and again on PostgreSQL (`make test-postgres`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.disbursements.models import Tranche, TrancheEvent
from solidarity.apps.disbursements.selectors import (
    in_kind_totals,
    log_bodies,
    statement_build,
    tranche_detail,
    tranches_public,
)
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    RateInput,
    TrancheRefused,
    evidence_read,
    in_kind_gift_record,
    tranche_approve,
    tranche_cancel,
    tranche_handover,
    tranche_reject,
)
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import donation_reverse
from solidarity.apps.ledger.models import JournalTransaction
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.money import Money
from solidarity.core.tlog.entry import canonical_json, entry_decode, totals_compute
from solidarity.core.tranches import item_parse
from tests.factories import OPENS
from tests.integration.tranche_helpers import funded_campaign, people, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return people()


def _approved(campaign, who, amount):
    t = propose(campaign, who["thu"], amount)
    tranche_approve(tranche=t, by=who["lan"])
    return tranche_approve(tranche=t, by=who["minh"])


def _nothing_written(tranche, events_before):
    tranche.refresh_from_db()
    assert TrancheEvent.objects.filter(tranche=tranche).count() == events_before


# --- approval rules ------------------------------------------------------------------------


def test_n_distinct_approvals_make_a_tranche_approved(who):
    campaign = funded_campaign()
    t = propose(campaign, who["thu"], 400_000)
    assert t.status == Tranche.Status.PROPOSED
    t = tranche_approve(tranche=t, by=who["lan"])
    assert t.status == Tranche.Status.PROPOSED  # 1 of 2
    t = tranche_approve(tranche=t, by=who["minh"])
    assert t.status == Tranche.Status.APPROVED
    assert t.approved_at is not None
    actions = [(e.action, e.by.username) for e in t.events.all()]
    assert actions == [("proposed", "thu"), ("approved", "lan"), ("approved", "minh")]


def test_the_campaign_decides_how_many_approvals(who):
    campaign = funded_campaign(approvals_required=3)
    t = propose(campaign, who["thu"], 1000)
    tranche_approve(tranche=t, by=who["lan"])
    t = tranche_approve(tranche=t, by=who["minh"])
    assert t.status == Tranche.Status.PROPOSED
    t = tranche_approve(tranche=t, by=who["hoa"])
    assert t.status == Tranche.Status.APPROVED


def test_the_proposer_cannot_approve_even_as_an_approver(who):
    campaign = funded_campaign()
    t = propose(campaign, who["lan"], 1000)
    with pytest.raises(TrancheRefused, match=r"lan proposed tranche .* cannot approve it"):
        tranche_approve(tranche=t, by=who["lan"])
    _nothing_written(t, 1)


def test_the_same_approver_twice_is_refused(who):
    campaign = funded_campaign()
    t = propose(campaign, who["thu"], 1000)
    tranche_approve(tranche=t, by=who["lan"])
    with pytest.raises(TrancheRefused, match="lan has already approved"):
        tranche_approve(tranche=t, by=who["lan"])
    _nothing_written(t, 2)
    assert t.status == Tranche.Status.PROPOSED


def test_people_without_the_approver_role_cannot_approve(who):
    campaign = funded_campaign()
    t = propose(campaign, who["thu"], 1000)
    for person in ("thu", "an"):
        with pytest.raises(TrancheRefused, match="does not have the approver role"):
            tranche_approve(tranche=t, by=who[person])
    _nothing_written(t, 1)


def test_an_auditor_cannot_propose(who):
    campaign = funded_campaign()
    with pytest.raises(TrancheRefused, match="may not propose"):
        propose(campaign, who["an"], 1000)
    assert not Tranche.objects.exists()


@pytest.mark.parametrize("close", ["reject", "cancel"])
def test_rejected_or_cancelled_tranches_cannot_be_approved_or_handed_over(who, close):
    campaign = funded_campaign()
    t = _approved(campaign, who, 1000)
    if close == "reject":
        with pytest.raises(TrancheRefused, match="needs a reason"):
            tranche_reject(tranche=t, by=who["hoa"], reason=" ")
        t = tranche_reject(tranche=t, by=who["hoa"], reason="no minutes")
    else:
        t = tranche_cancel(tranche=t, by=who["thu"], reason="duplicate")
    assert t.status in (Tranche.Status.REJECTED, Tranche.Status.CANCELLED)
    with pytest.raises(TrancheRefused, match="only an approved tranche is handed over"):
        tranche_handover(tranche=t, by=who["thu"])
    with pytest.raises(TrancheRefused, match="only a proposed tranche is approved"):
        tranche_approve(tranche=t, by=who["hoa"])
    with pytest.raises(TrancheRefused, match="cannot be"):
        tranche_cancel(tranche=t, by=who["thu"])
    assert campaign_totals(campaign=campaign)["disbursed_minor"] == 0
    assert not LogEntry.objects.filter(kind="disbursement").exists()


def test_a_proposal_that_is_not_proposed_yet_cannot_be_handed_over(who):
    campaign = funded_campaign()
    t = propose(campaign, who["thu"], 1000)
    with pytest.raises(TrancheRefused, match="is proposed; only an approved"):
        tranche_handover(tranche=t, by=who["thu"])


def test_bad_proposals_list_every_reason(who):
    campaign = funded_campaign()
    with pytest.raises(TrancheRefused) as refused:
        propose(campaign, who["thu"], -5, recipient=" ", currency="USD")
    text = str(refused.value)
    assert "recipient" in text
    assert "keeps its books in VND" in text
    assert "non-negative" in text


# --- the balance -----------------------------------------------------------------------------


def test_approval_counts_what_approved_tranches_already_promise(who):
    campaign = funded_campaign(1_000_000)
    _approved(campaign, who, 700_000)
    t = propose(campaign, who["thu"], 400_000)
    with pytest.raises(TrancheRefused, match="leaves 300000 VND"):
        tranche_approve(tranche=t, by=who["lan"])
    _nothing_written(t, 1)
    ok = propose(campaign, who["thu"], 300_000)
    tranche_approve(tranche=ok, by=who["lan"])
    assert tranche_approve(tranche=ok, by=who["minh"]).status == Tranche.Status.APPROVED


def test_handover_is_checked_again_after_reversals(who):
    # Given an approved tranche of the whole balance
    campaign = funded_campaign(600_000)
    t = _approved(campaign, who, 600_000)
    # When the only gift is reversed before the handover
    donation = Donation.objects.get(campaign=campaign)
    donation_reverse(donation=donation, source="test", source_ref="r1", reversed_at=OPENS)
    # Then the handover is refused and nothing is booked
    with pytest.raises(TrancheRefused, match="above what the campaign can still hand over"):
        tranche_handover(tranche=t, by=who["thu"])
    assert campaign_totals(campaign=campaign)["disbursed_minor"] == 0
    assert not JournalTransaction.objects.filter(kind="disbursement").exists()
    t.refresh_from_db()
    assert t.status == Tranche.Status.APPROVED


# --- handing over ----------------------------------------------------------------------------


def test_handover_books_the_ledger_and_appends_the_log_entry(who):
    # Given the 1 September 2025 tranche: VND 385,000,000,000 at 26,370 VND/USD
    campaign = funded_campaign(400_000_000_000)
    t = propose(
        campaign,
        who["thu"],
        385_000_000_000,
        purpose="Relief for the people of Cuba",
        rate=RateInput(Decimal("26370"), "USD", "Vietcombank", date(2025, 9, 1)),
        items=[item_parse("masks:50000:piece:2000", "VND")],
        evidence=[EvidenceInput("order.pdf", b"%PDF-1.7 transfer order", "transfer_order")],
    )
    assert t.counter_minor == 1_459_992_415  # USD 14,599,924.15, truncated
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    # When it is handed over with its minutes
    t = tranche_handover(
        tranche=t,
        by=who["thu"],
        evidence=[EvidenceInput("minutes.png", b"\x89PNG\r\n\x1a\nminutes", "handover_minutes")],
    )
    # Then the books, the totals and the log agree
    assert t.status == Tranche.Status.HANDED_OVER
    totals = campaign_totals(campaign=campaign)
    assert totals["disbursed_minor"] == 385_000_000_000
    assert totals["balance_minor"] == 15_000_000_000
    postings = {(p.account.code, p.amount_minor) for p in t.txn.postings.all()}
    assert postings == {
        ("expense:disbursed:cuba", 385_000_000_000),
        ("asset:bank:970422:4001", -385_000_000_000),
    }
    assert ledger_check().ok
    entry = LogEntry.objects.get(pk=t.log_entry_id)
    assert entry.kind == "disbursement"
    assert tranche_detail(t)["log"]["index"] is None  # until the sequencer publishes it
    body = entry_decode(bytes(entry.body))
    assert canonical_json(body) == bytes(entry.body)
    assert body["amount"] == 385_000_000_000
    assert body["currency"] == "VND"
    assert body["ref"] == f"tranche-{t.pk}"
    assert body["approvals"] == 2
    assert body["conversion"] == {
        "rate": "26370",
        "base": "USD",
        "quote": "VND",
        "source": "Vietcombank",
        "on": "2025-09-01",
        "amount": 1_459_992_415,
        "currency": "USD",
    }
    assert body["items"] == [
        {
            "item": "masks",
            "quantity": "50000",
            "unit": "piece",
            "unit_value": 2000,
            "total": 100_000_000,
        }
    ]
    kinds = sorted(e["kind"] for e in body["evidence"])
    assert kinds == ["handover_minutes", "transfer_order"]
    for e in body["evidence"]:
        assert evidence_read(e["sha256"]) is not None
    assert {e["type"] for e in body["evidence"]} == {"application/pdf", "image/png"}
    # the tranche cannot be handed over twice
    with pytest.raises(TrancheRefused, match="is handed_over"):
        tranche_handover(tranche=t, by=who["thu"])


def test_totals_recomputed_from_the_log_match_the_books(who):
    # Given gifts, a reversal, two tranches handed over and goods given and handed over
    campaign = funded_campaign(1_000_000)
    from solidarity.apps.donations.services import donations_record_many
    from tests.factories import gift

    donations_record_many(campaign=campaign, gifts=[gift(campaign, 250_000) for _ in range(4)])
    donation = Donation.objects.filter(campaign=campaign).order_by("id").last()
    donation_reverse(donation=donation, source="test", source_ref="rev", reversed_at=OPENS)
    for amount in (300_000, 450_000):
        tranche_handover(tranche=_approved(campaign, who, amount), by=who["thu"])
    in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Công ty ABC",
        received_on=date(2025, 8, 30),
        items=[item_parse("rice:2.5:tonne:15000000", "VND")],
    )
    goods = propose(campaign, who["thu"], 0, items=[item_parse("rice:1:tonne:15000000", "VND")])
    tranche_approve(tranche=goods, by=who["lan"])
    tranche_approve(tranche=goods, by=who["minh"])
    goods = tranche_handover(tranche=goods, by=who["thu"])
    # When the totals are recomputed from the log entries alone
    bodies = log_bodies(campaign)
    computed = totals_compute(bodies)["VND"]
    # Then they reproduce raised, disbursed and balance; goods never enter cash
    totals = campaign_totals(campaign=campaign)
    assert computed.raised == totals["raised_minor"] == 1_750_000
    assert computed.disbursed == totals["disbursed_minor"] == 750_000
    assert computed.balance == totals["balance_minor"] == 1_000_000
    assert in_kind_totals(campaign) == {
        "received_minor": 37_500_000,
        "handed_over_minor": 15_000_000,
    }
    in_kind = [b for b in bodies if b["kind"] == "in_kind"]
    assert [b.get("direction") for b in in_kind] == ["in", "out"]
    assert in_kind[0]["items"][0]["quantity"] == "2.5"
    if hasattr(computed, "in_kind_received"):
        assert computed.in_kind_received == 37_500_000
        assert computed.in_kind_handed_over == 15_000_000
    assert goods.txn_id is None  # goods leave no cash posting
    assert ledger_check().ok


def test_tranche_events_are_append_only(who):
    campaign = funded_campaign()
    t = propose(campaign, who["thu"], 1000)
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cur:
        cur.execute(
            "UPDATE disbursements_trancheevent SET note = 'x' WHERE tranche_id = %s", [t.pk]
        )


def test_public_selector_shows_both_currencies_and_pending_index(who):
    campaign = funded_campaign(400_000_000_000)
    t = propose(
        campaign,
        who["thu"],
        385_000_000_000,
        rate=RateInput(Decimal("26370"), "USD", "Vietcombank", date(2025, 9, 1)),
    )
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    t = tranche_handover(tranche=t, by=who["thu"])
    shown = tranches_public(campaign, "en")
    (row,) = shown["tranches"]
    assert row["amount"] == "₫385,000,000,000"
    assert row["counter"] == "$14,599,924.15"
    assert row["log_index"] is None
    assert shown["balance_minor"] == 15_000_000_000
    assert tranche_detail(t)["log"]["ref"] == f"tranche-{t.pk}"


# --- the statement -------------------------------------------------------------------------


def test_the_statement_reconciles_and_equals_the_ledger(who):
    from solidarity.apps.donations.services import donations_record_many
    from tests.factories import campaign_factory, gift

    # Gifts at fixed times on the first day, before the tranche's date (1 September): the
    # factory's own clock advances with every gift any test in the process made.
    campaign = campaign_factory(slug="cuba", goal=10**12)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 900_000, received_at=OPENS)])
    donation = Donation.objects.get(campaign=campaign)
    donation_reverse(donation=donation, source="test", source_ref="r", reversed_at=OPENS)
    donations_record_many(
        campaign=campaign,
        gifts=[gift(campaign, 500_000, received_at=OPENS + timedelta(hours=h)) for h in (1, 2, 3)],
    )
    tranche_handover(tranche=_approved(campaign, who, 1_200_000), by=who["thu"])
    today = timezone.localdate()
    # the whole life of the campaign
    whole = statement_build(campaign=campaign, start=date(2025, 1, 1), end=today)
    assert whole.opening == 0
    assert whole.gifts == 900_000 + 1_500_000
    assert whole.gift_count == 4
    assert whole.reversals == 900_000
    assert whole.tranches_total == 1_200_000
    assert whole.reconciliation.ok
    assert whole.closing == campaign_totals(campaign=campaign)["balance_minor"] == 300_000
    # a later window opens with what the earlier one closed: it starts the day after the last
    # gift
    last = Donation.objects.filter(campaign=campaign).latest("received_at").received_at
    after = timezone.localdate(last) + timedelta(days=1)
    later = statement_build(campaign=campaign, start=after, end=today)
    assert later.opening == 1_500_000
    assert later.gifts == 0
    assert later.reconciliation.ok
    assert later.closing == 300_000
    assert later.tranches[0]["amount_minor"] == 1_200_000


def test_money_is_exact_in_goods_lines():
    line = item_parse("gạo: loại 1:2.5:tonne:15,000,000", "VND")
    assert line.item == "gạo: loại 1"
    assert line.total == Money(37_500_000, "VND")
