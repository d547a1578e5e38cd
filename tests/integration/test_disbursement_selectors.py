"""The disbursement selectors write goods lines, evidence and log indexes alike wherever they
list them: the public tranches and goods, the back office's goods, the JSON details.

Runs on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from solidarity.apps.disbursements.models import InKindGift
from solidarity.apps.disbursements.selectors import (
    in_kind_gift_detail,
    in_kind_goods_office,
    tranche_detail,
    tranches_public,
)
from solidarity.apps.disbursements.services import (
    in_kind_gift_record,
    tranche_approve,
    tranche_handover,
)
from solidarity.apps.transparency.sequencer import log_sequence_once
from solidarity.core.money import Money
from solidarity.core.tranches import ItemLine
from tests.integration.tranche_helpers import funded_campaign, people, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return people()


RICE = ItemLine("gạo", Decimal("2.50"), "tấn", Money(15_000_000, "VND"))
SUGAR = ItemLine("đường", Decimal("1E+4"), "kg", Money(20_000, "VND"))
MASKS = ItemLine("khẩu trang", Decimal("500"), "hộp", Money(2_000, "VND"))


def _books(who):
    campaign = funded_campaign()
    gift = in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Công ty ABC",
        received_on=date(2025, 8, 30),
        items=[RICE, SUGAR],
    )
    tranche = propose(campaign, who["thu"], 300_000, items=[MASKS])
    tranche_approve(tranche=tranche, by=who["lan"])
    tranche_approve(tranche=tranche, by=who["minh"])
    return campaign, gift, tranche_handover(tranche=tranche, by=who["thu"])


def _office(campaign):
    gifts = InKindGift.objects.filter(campaign=campaign).select_related(
        "campaign", "recorded_by", "log_entry"
    )
    return in_kind_goods_office(gifts, "vi")


def test_goods_lines_are_written_for_the_reader_and_for_json(who, log_home):
    # Given goods received in two lines and a tranche handing over cash and goods
    campaign, gift, tranche = _books(who)
    # Then the pages show quantities and amounts as people write them, in every list
    shown = tranches_public(campaign, "vi")
    rice = {"item": "gạo", "quantity": "2,5", "unit": "tấn", "unit_value": "15.000.000\xa0₫",
            "total": "37.500.000\xa0₫"}  # fmt: skip
    sugar = {"item": "đường", "quantity": "10.000", "unit": "kg", "unit_value": "20.000\xa0₫",
             "total": "200.000.000\xa0₫"}  # fmt: skip
    masks = {"item": "khẩu trang", "quantity": "500", "unit": "hộp", "unit_value": "2.000\xa0₫",
             "total": "1.000.000\xa0₫"}  # fmt: skip
    assert shown["goods_received"][0]["items"] == [rice, sugar]
    assert shown["tranches"][0]["items"] == [masks]
    assert _office(campaign)[0]["items"] == [rice, sugar]
    # And the JSON details keep minor units and exact quantities
    assert in_kind_gift_detail(gift)["items"] == [
        {"item": "gạo", "quantity": "2.5", "unit": "tấn", "unit_value_minor": 15_000_000,
         "total_minor": 37_500_000},
        {"item": "đường", "quantity": "10000", "unit": "kg", "unit_value_minor": 20_000,
         "total_minor": 200_000_000},
    ]  # fmt: skip
    assert tranche_detail(tranche)["items"] == [
        {"item": "khẩu trang", "quantity": "500", "unit": "hộp", "unit_value_minor": 2_000,
         "total_minor": 1_000_000},
    ]  # fmt: skip


def test_log_indexes_are_shown_once_published(who, log_home):
    # Given goods and a tranche whose log entries are not published yet
    campaign, gift, tranche = _books(who)
    shown = tranches_public(campaign, "vi")
    assert shown["goods_received"][0]["log_index"] is None
    assert shown["tranches"][0]["log_index"] is None
    assert _office(campaign)[0]["log_index"] is None
    assert in_kind_gift_detail(gift)["log"]["index"] is None
    assert tranche_detail(tranche)["log"]["index"] is None
    # When the sequencer publishes them
    log_sequence_once()
    # Then every list shows the index the log gave them
    gift.refresh_from_db()
    tranche.refresh_from_db()
    gift_index, tranche_index = gift.log_entry.index, tranche.log_entry.index
    shown = tranches_public(campaign, "vi")
    assert shown["goods_received"][0]["log_index"] == gift_index
    assert shown["tranches"][0]["log_index"] == tranche_index
    assert _office(campaign)[0]["log_index"] == gift_index
    assert in_kind_gift_detail(gift)["log"] == {
        "kind": "in_kind",
        "ref": gift.log_ref,
        "index": gift_index,
    }
    assert tranche_detail(tranche)["log"] == {
        "kind": tranche.log_entry.kind,
        "ref": f"tranche-{tranche.pk}",
        "index": tranche_index,
    }
