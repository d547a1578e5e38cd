"""The books: journal transactions of postings, never edited, and maintained totals."""

from __future__ import annotations

from django.db import models


class LedgerAccount(models.Model):
    """One account of the chart; codes follow solidarity.core.ledger."""

    code = models.CharField(max_length=120, unique=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class JournalTransaction(models.Model):
    """A posted journal transaction. The database refuses UPDATE and DELETE (migration 0002)."""

    # Indexed through the (campaign, kind) index below.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, db_index=False)
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    booked_at = models.DateTimeField(auto_now_add=True)
    memo = models.CharField(max_length=500, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        indexes = (models.Index(fields=("campaign", "kind")),)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Posting(models.Model):
    txn = models.ForeignKey(JournalTransaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = (
            models.CheckConstraint(condition=~models.Q(amount_minor=0), name="posting_nonzero"),
        )


class CampaignTotals(models.Model):
    """Totals maintained as transactions are booked; `ledger check` recomputes them.

    Updated only with F() increments inside the booking transaction, so concurrent
    bookings serialize on this row and never lose an increment.
    """

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="totals", primary_key=True
    )
    raised_minor = models.BigIntegerField(default=0)
    donation_count = models.BigIntegerField(default=0)
    reversal_count = models.BigIntegerField(default=0)
    reversed_minor = models.BigIntegerField(default=0)
    donor_count = models.BigIntegerField(default=0)
    disbursed_minor = models.BigIntegerField(default=0)
    review_count = models.BigIntegerField(default=0)

    @property
    def balance_minor(self) -> int:
        return self.raised_minor - self.disbursed_minor
