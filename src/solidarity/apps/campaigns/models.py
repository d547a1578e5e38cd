"""Campaigns and their official receiving bank accounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from solidarity.core.ledger import account_code

LANGUAGES = ("vi", "en", "es", "pt-br")

campaigns_updated = Signal()
"""Sent (sender: Campaign) after a queryset `update()` changed campaign rows: Django sends no
`post_save` for one, and readers that keep a campaign (`campaign_public_recent`) must know."""


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        if rows:
            campaigns_updated.send(sender=Campaign)
        return rows


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    objects = CampaignQuerySet.as_manager()

    slug = models.SlugField(max_length=64, unique=True)
    code = models.CharField(max_length=32, help_text="memo code donors write, e.g. CUBA")
    keywords = models.JSONField(default=list, blank=True)
    # {"vi": "...", "en": "...", ...}; read with `text()` for fallback.
    names = models.JSONField(default=dict)
    descriptions = models.JSONField(default=dict, blank=True)
    beneficiary = models.CharField(max_length=200, blank=True)
    goal_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    opens_at = models.DateTimeField()
    days = models.PositiveIntegerField()
    min_gift_minor = models.BigIntegerField(null=True, blank=True)
    max_gift_minor = models.BigIntegerField(null=True, blank=True)
    approvals_required = models.PositiveSmallIntegerField(default=2)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    goal_reached_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-opens_at",)
        constraints = (
            models.CheckConstraint(condition=models.Q(goal_minor__gt=0), name="goal_positive"),
        )

    def __str__(self) -> str:
        return self.slug

    @property
    def closes_at(self) -> datetime:
        return self.opens_at + timedelta(days=self.days)

    def state(self, at: datetime | None = None) -> str:
        """The status people see at `at` (now): an open campaign past its closing time is
        closed, even before `campaigns_close_due` has written it."""
        moment = at or timezone.now()
        if self.status == self.Status.OPEN and moment >= self.closes_at:
            return self.Status.CLOSED
        return str(self.status)

    @property
    def is_closed(self) -> bool:
        return self.state() == self.Status.CLOSED

    def state_label(self) -> str:
        return str(self.Status(self.state()).label)

    def text(self, field: str, language: str | None = None) -> str:
        """`names`/`descriptions` in `language`, falling back to vi, en, then any."""
        values: dict[str, str] = getattr(self, field)
        language = (language or translation.get_language() or "vi").lower()
        for candidate in (language, language.split("-")[0], "vi", "en"):
            if values.get(candidate):
                return values[candidate]
        return next((v for v in values.values() if v), self.slug)

    @property
    def name(self) -> str:
        return self.text("names")

    @property
    def description(self) -> str:
        return self.text("descriptions")


class ReceivingAccount(models.Model):
    """An official account donors may pay into. One account may serve several campaigns."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="accounts")
    bin = models.CharField(max_length=6)
    number = models.CharField(max_length=19)
    holder = models.CharField(max_length=120, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    # Set once when the account is retired (announced in the log); never cleared.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("campaign", "bin", "number"), name="account_once"),
        )

    def __str__(self) -> str:
        return f"{self.bin}:{self.number}"

    @property
    def ledger_code(self) -> str:
        return account_code("bank", self.bin, self.number)


def _photo_path(instance: models.Model, filename: str) -> str:
    return f"campaigns/{timezone.now():%Y/%m}/{filename}"


class CampaignPhoto(models.Model):
    """A photo of the campaign's story, kept through Django's storage API."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="photos")
    image = models.FileField(upload_to=_photo_path, max_length=255)
    caption = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)


class CampaignUpdate(models.Model):
    """News from the campaign ("we handed over the first tranche"), announced in the log as an
    `update` entry holding the title and the SHA-256 of the text. Never edited."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="updates")
    title = models.CharField(max_length=200)
    text = models.TextField()
    photo = models.FileField(upload_to=_photo_path, max_length=255, blank=True)
    tranche = models.ForeignKey(
        "disbursements.Tranche", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    published_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ("-published_at", "-id")
