"""Real-time intake: provider feeds, their stored notifications, and conflicts.

Secrets never enter the database: a feed holds only the ids of its secrets, whose values are
files under `SOLIDARITY_SECRETS_DIR/feeds/` (mode 0600).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Feed(models.Model):
    """One notification source, listening at /hooks/<name>."""

    class Kind(models.TextChoices):
        SEPAY = "sepay"
        CASSO = "casso"
        STANDARD = "standard"
        VNPAY = "vnpay"

    name = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    auth = models.CharField(max_length=8, default="hmac", help_text="apikey or hmac (SePay)")
    bin = models.CharField(max_length=6, blank=True)
    number = models.CharField(max_length=40, blank=True)
    secret_ids = models.JSONField(default=list, help_text="active secrets, newest last")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"feed:{self.name}"


class Notification(models.Model):
    """One notification as received, stored before it is acknowledged; booked from here."""

    class Status(models.TextChoices):
        STORED = "stored", _("stored, not booked yet")
        BOOKED = "booked", _("booked")
        REVIEW = "review", _("in the review queue")
        CONFIRMED = "confirmed", _("already booked from a statement")
        OTHER = "other", _("not a gift (movement, reversal, ignored)")
        FAILED = "failed", _("booking failed")

    feed = models.ForeignKey(Feed, on_delete=models.PROTECT, related_name="notifications")
    provider_id = models.CharField(max_length=120)
    received_at = models.DateTimeField()
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STORED)
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    # What reconciliation needs, copied from the body when stored.
    bin = models.CharField(max_length=6, blank=True)
    number = models.CharField(max_length=40, blank=True)
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="VND")
    occurred_at = models.DateTimeField(null=True, blank=True)
    bank_ref = models.CharField(max_length=64, blank=True)
    donation = models.ForeignKey(
        "donations.Donation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=240, blank=True, help_text="statement identity")
    flagged_at = models.DateTimeField(null=True, blank=True)
    flag_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("-id",)
        constraints = (
            models.UniqueConstraint(fields=("feed", "provider_id"), name="notification_once"),
        )
        indexes = (
            models.Index(fields=("status", "id")),
            models.Index(fields=("number", "amount_minor")),
            # statement reconciliation: the feed's notifications in a batch's date window
            models.Index(fields=("number", "occurred_at")),
        )

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.provider_id}"


class Conflict(models.Model):
    """A notification or partner gift whose provider id is already stored with other terms
    (amount, currency, account, campaign; `core.webhooks.TERMS`): both versions are kept
    here, the later one is never booked, and accountants decide what happened (two
    transfers under one id, a provider's error, a forgery).

    One row per distinct later version (`version`, the digest of `received`): a provider
    retrying the same conflicting notification does not add rows. Never edited except to
    mark it resolved.
    """

    source = models.CharField(max_length=64, help_text="feed:<name> or partner:<name>")
    provider_id = models.CharField(max_length=120)
    differs = models.CharField(max_length=120, help_text="the terms that differ, comma-separated")
    stored = models.JSONField(help_text="the terms stored first (booked, or to be booked)")
    received = models.JSONField(help_text="the terms received later (not booked)")
    body = models.TextField(blank=True, help_text="the later notification or request as received")
    headers = models.JSONField(default=dict)
    version = models.CharField(max_length=64)
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.PROTECT, related_name="conflicts"
    )
    donation = models.ForeignKey(
        "donations.Donation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ("-id",)
        constraints = (
            models.UniqueConstraint(
                fields=("source", "provider_id", "version"), name="conflict_once"
            ),
        )
        indexes = (models.Index(fields=("resolved_at", "id")),)

    def __str__(self) -> str:
        return f"{self.source}:{self.provider_id} ({self.differs})"
