"""/c/<slug>/updates.atom: a campaign's updates as an Atom feed (Django's syndication)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.utils.feedgenerator import Atom1Feed

from solidarity.apps.campaigns.models import Campaign, CampaignUpdate
from solidarity.apps.public.markdown import markdown_html
from solidarity.apps.public.views import _campaign


class CampaignUpdatesFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> Campaign:  # type: ignore[override]
        return _campaign(slug)

    def title(self, obj: Campaign) -> str:
        return obj.name

    def link(self, obj: Campaign) -> str:
        return f"/c/{obj.slug}/"

    def subtitle(self, obj: Campaign) -> str:
        return obj.beneficiary

    def items(self, obj: Campaign) -> Any:
        return obj.updates.all()[:50]

    def item_title(self, item: CampaignUpdate) -> str:
        return item.title

    def item_description(self, item: CampaignUpdate) -> str:
        return markdown_html(item.text)

    def item_link(self, item: CampaignUpdate) -> str:
        return f"/c/{item.campaign.slug}/#updates"

    def item_guid(self, item: CampaignUpdate) -> str:
        return f"update-{item.pk}-{item.text_sha256[:16]}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: CampaignUpdate) -> datetime:
        return item.published_at

    def item_updateddate(self, item: CampaignUpdate) -> datetime:
        return item.published_at
