"""Tranches (money and goods handed over), their approvals, evidence and in-kind gifts.

A tranche's status only moves forward (proposed → approved → handed_over, or to rejected /
cancelled); who did what and when is in `TrancheEvent`, which the database keeps append-only
(migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Tranche(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed"
        APPROVED = "approved"
        HANDED_OVER = "handed_over"
        REJECTED = "rejected"
        CANCELLED = "cancelled"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT)
    recipient = models.CharField(max_length=200)
    date = models.DateField(help_text="the day the tranche is (to be) handed over")
    # Cash leaving the campaign's account, in the campaign's currency; 0 for goods only.
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    purpose = models.TextField(blank=True)
    account = models.ForeignKey(
        "campaigns.ReceivingAccount", null=True, blank=True, on_delete=models.PROTECT
    )
    # Optional recorded conversion: one `rate_base` is worth `rate` units of `currency`.
    rate = models.CharField(max_length=40, blank=True, help_text="decimal string")
    rate_base = models.CharField(max_length=3, blank=True)
    rate_source = models.CharField(max_length=200, blank=True)
    rate_date = models.DateField(null=True, blank=True)
    counter_minor = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    txn = models.OneToOneField(
        "ledger.JournalTransaction", null=True, blank=True, on_delete=models.PROTECT
    )
    log_entry = models.OneToOneField(
        "transparency.LogEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-proposed_at", "-id")
        indexes = (models.Index(fields=("campaign", "status")),)
        constraints = (
            models.CheckConstraint(condition=models.Q(amount_minor__gte=0), name="tranche_amount"),
        )

    def __str__(self) -> str:
        return f"tranche {self.pk} ({self.status})"

    @property
    def log_ref(self) -> str:
        return f"tranche-{self.pk}"


class TrancheEvent(models.Model):
    """One step of a tranche's life: who, what, when. Never updated or deleted."""

    class Action(models.TextChoices):
        PROPOSED = "proposed"
        APPROVED = "approved"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        HANDED_OVER = "handed_over"
        EVIDENCE = "evidence"

    tranche = models.ForeignKey(Tranche, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=12, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("at", "id")
        constraints = (
            # The database itself refuses a second approval by the same person.
            models.UniqueConstraint(
                fields=("tranche", "by"),
                condition=models.Q(action="approved"),
                name="approve_once_per_person",
            ),
        )


class InKindGift(models.Model):
    """Goods donated to a campaign. Counted apart from cash: never in `raised`.

    `donor` is the name as published: an organization's name as given, a person's as they
    chose (`donor_privacy`: named, masked or anonymous). `donor_name` is what was given and is
    shown only in the back office; it never enters the log.
    """

    class DonorKind(models.TextChoices):
        ORGANIZATION = "organization"
        PERSON = "person"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT)
    donor = models.CharField(max_length=200, help_text="as published")
    donor_kind = models.CharField(
        max_length=12, choices=DonorKind.choices, default=DonorKind.ORGANIZATION
    )
    donor_privacy = models.CharField(max_length=10, default="named")
    donor_name = models.CharField(max_length=200, blank=True, help_text="not published")
    received_on = models.DateField()
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    log_entry = models.OneToOneField(
        "transparency.LogEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-received_on", "-id")

    @property
    def log_ref(self) -> str:
        return f"in-kind-{self.pk}"


class InKindLine(models.Model):
    """One kind of goods, on a tranche (handed over) or an in-kind gift (received)."""

    tranche = models.ForeignKey(
        Tranche, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    gift = models.ForeignKey(
        InKindGift, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    item = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=20, decimal_places=3)
    unit = models.CharField(max_length=40)
    unit_value_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()

    class Meta:
        ordering = ("id",)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(tranche__isnull=False, gift__isnull=True)
                | models.Q(tranche__isnull=True, gift__isnull=False),
                name="line_has_one_owner",
            ),
        )


class Evidence(models.Model):
    """A file proving a tranche (handover minutes, transfer order) or goods received (a
    delivery note, a donation letter), stored by content hash; exactly one owner."""

    class Kind(models.TextChoices):
        HANDOVER_MINUTES = "handover_minutes"
        TRANSFER_ORDER = "transfer_order"
        DELIVERY_NOTE = "delivery_note"
        OTHER = "other"

    tranche = models.ForeignKey(
        Tranche, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    gift = models.ForeignKey(
        InKindGift, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(max_length=200, help_text="the uploaded file's name")
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("tranche", "sha256"), name="evidence_once"),
            models.UniqueConstraint(fields=("gift", "sha256"), name="gift_evidence_once"),
            models.CheckConstraint(
                condition=models.Q(tranche__isnull=False, gift__isnull=True)
                | models.Q(tranche__isnull=True, gift__isnull=False),
                name="evidence_has_one_owner",
            ),
        )


class InKindTotals(models.Model):
    """Value of goods received and handed over, maintained like CampaignTotals."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    received_minor = models.BigIntegerField(default=0)
    handed_over_minor = models.BigIntegerField(default=0)
