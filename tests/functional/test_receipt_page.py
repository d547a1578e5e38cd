"""The receipt page: the reader's language, Vietnam time, and a button to verify in the browser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.transparency.sequencer import log_sequence_once
from tests.factories import campaign_factory, gift

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


@pytest.fixture
def ref():
    campaign = campaign_factory(slug="web")
    at = datetime(2025, 8, 25, 15, 1, 30, 414683, tzinfo=UTC)
    (r,) = donations_record_many(campaign=campaign, gifts=[gift(campaign, 150_000, received_at=at)])
    log_sequence_once(durable=False)
    return r.public_ref


@pytest.mark.parametrize(
    ("lang", "label", "shown", "amount"),
    [
        ("vi", "Thời gian (giờ Việt Nam)", "22:01:30 25 thg 8, 2025", "150.000\u00a0₫"),
        ("en", "Time (Vietnam)", "Aug 25, 2025, 10:01:30\u202fPM", "₫150,000"),
        ("es", "Hora (Vietnam)", "25 ago 2025, 22:01:30", "150.000\u00a0₫"),
        ("pt-br", "Hora (Vietnã)", "25 de ago. de 2025 22:01:30", "₫\u00a0150.000"),
    ],
)
def test_the_receipt_shows_vietnam_time_in_the_readers_language(
    client, ref, lang, label, shown, amount
):
    html = client.get(f"/{lang}/c/web/receipt/{ref}/").content.decode()
    assert label in html
    assert f'<time datetime="2025-08-25T15:01:30.414683Z">{shown}</time>' in html
    assert amount in html
    assert "Time (UTC)" not in html


def test_the_receipt_has_a_verify_button_to_the_verify_page_with_the_receipt_preloaded(client, ref):
    html = client.get(f"/en/c/web/receipt/{ref}/").content.decode()
    assert f'id="receipt-verify" href="/en/c/web/verify/?ref={ref}"' in html
    verify = client.get(f"/en/c/web/verify/?ref={ref}").content.decode()
    assert f'value="{ref}"' in verify
