"""Campaign services behind the office pages, on SQLite and PostgreSQL: editing, closing when
due, retiring accounts and publishing updates, each with its log entry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.models import Campaign, CampaignUpdate
from solidarity.apps.campaigns.services import (
    AccountInput,
    CampaignError,
    campaign_edit,
    campaigns_close_due,
)
from solidarity.apps.donations.models import Donation
from solidarity.apps.imports.services import statement_import
from solidarity.apps.transparency.announcements import (
    campaign_update_publish,
    receiving_account_retire,
)
from solidarity.apps.transparency.models import LogEntry
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db


def _edit(campaign: Campaign, **over):
    values = {
        "campaign": campaign,
        "code": campaign.code,
        "names": campaign.names,
        "goal_minor": campaign.goal_minor,
        "opens_at": campaign.opens_at,
        "days": campaign.days,
    }
    values.update(over)
    return campaign_edit(**values)


def test_edit_refuses_bad_settings_with_every_reason_and_writes_nothing():
    campaign = campaign_factory()
    with pytest.raises(CampaignError) as err:
        _edit(campaign, goal_minor=0, days=0, min_gift_minor=5, max_gift_minor=1)
    assert len(err.value.errors) == 3
    campaign.refresh_from_db()
    assert campaign.goal_minor == 1_000_000 and campaign.days == 65
    edited = _edit(campaign, goal_minor=2_000_000, keywords=[" cu ba ", ""])
    assert edited.goal_minor == 2_000_000 and edited.keywords == ["cu ba"]


def test_close_due_closes_only_campaigns_past_their_closing_time():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    past = campaign_factory(slug="past", opens_at=now - timedelta(days=40), days=30)
    running = campaign_factory(slug="running", opens_at=now - timedelta(days=10), days=30)
    draft = campaign_factory(slug="draft", opens_at=now - timedelta(days=90), days=1, open_=False)
    assert campaigns_close_due(now=now) == ["past"]
    statuses = dict(Campaign.objects.values_list("slug", "status"))
    assert statuses == {"past": "closed", "running": "open", "draft": "draft"}
    assert past.state(now - timedelta(days=20)) == "open"
    assert running.state(now) == "open" and running.state(now + timedelta(days=21)) == "closed"
    assert draft.state(now) == "draft"


def test_a_transfer_after_the_closing_time_is_not_booked(tmp_path: Path):
    opens = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    campaign_factory(opens_at=opens, days=10, accounts=(AccountInput("970436", "0011001932418"),))
    statement = tmp_path / "s.csv"
    statement.write_text(
        "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
        "11/09/2025 07:59,FT1,,100.000,ung ho CUBA\n"
        "11/09/2025 08:00,FT2,,300.000,ung ho CUBA\n",
        encoding="utf-8",
    )
    report = statement_import(path=statement)
    assert (report.counts.booked, report.counts.to_review) == (1, 1)
    assert Donation.objects.get().amount_minor == 100_000
    assert ReviewItem.objects.get().amount_minor == 300_000


def test_retiring_an_account_is_announced_once():
    campaign = campaign_factory()
    account = campaign.accounts.get()
    receiving_account_retire(account=account)
    with pytest.raises(CampaignError, match="already retired"):
        receiving_account_retire(account=account)
    actions = [json.loads(e.body)["action"] for e in LogEntry.objects.filter(kind="account")]
    assert actions == ["added", "retired"]


def test_an_update_is_logged_with_its_title_and_text_hash_only(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = campaign_factory()
    with pytest.raises(CampaignError) as err:
        campaign_update_publish(campaign=campaign, title=" ", text="")
    assert len(err.value.errors) == 2
    assert not CampaignUpdate.objects.exists() and not LogEntry.objects.filter(kind="update")
    update = campaign_update_publish(
        campaign=campaign, title="Đợt 1", text="Đã trao 385 tỷ đồng.", by="quan"
    )
    body = json.loads(LogEntry.objects.get(kind="update").body)
    assert body == {
        "kind": "update",
        "campaign": campaign.slug,
        "at": body["at"],
        "title": "Đợt 1",
        "text_sha256": hashlib.sha256("Đã trao 385 tỷ đồng.".encode()).hexdigest(),
    }
    assert update.published_by == "quan"
    draft = campaign_factory(slug="nhap", open_=False)
    with pytest.raises(CampaignError, match="draft"):
        campaign_update_publish(campaign=draft, title="x", text="y")
