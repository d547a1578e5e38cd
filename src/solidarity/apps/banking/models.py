"""Bank transactions in, what is not a gift: the review queue, account movements, returns
waiting for their gift.

Every bank transaction has one identity `(source, source_ref)`: `source` is
`bank:<bin>:<number>` of the receiving account, `source_ref` the transaction's
`BankTransaction.identity` (core/statements/IDENTITY.md). Each outcome table below is unique
on it, as `donations.Donation` and `donations.Reversal` are, so a transaction is booked once
whatever the channel, the file or the number of runs. The tables keep the names the imports
app gave them (moved with SeparateDatabaseAndState).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewItem(models.Model):
    """A credit that matched no campaign or several; waits for an accountant's decision.

    Holds private details (sender account, raw memo) like `DonationPrivate`; shown only in
    the back office.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ASSIGNED = "assigned", _("assigned")
        REJECTED = "rejected", _("not a gift")

    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    source_kind = models.CharField(max_length=16, default="statement")
    imported = models.ForeignKey("imports.Import", null=True, blank=True, on_delete=models.SET_NULL)
    bin = models.CharField(max_length=6)
    number = models.CharField(max_length=40)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booked_at = models.DateTimeField()
    bank_ref = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True)
    match_kind = models.CharField(max_length=8, help_text="none or several")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=200, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    donation = models.OneToOneField(
        "donations.Donation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    movement_txn = models.OneToOneField(
        "ledger.JournalTransaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "imports_reviewitem"  # created by the imports app; moved, not renamed
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="review_once"),
        )
        indexes = (models.Index(fields=("status", "id")),)

    def __str__(self) -> str:
        return f"review {self.pk}"


class ReviewCandidate(models.Model):
    """A campaign an open review item may belong to; `review_count` counts these."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="candidates")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "imports_reviewcandidate"  # created by the imports app; moved, not renamed
        constraints = (
            models.UniqueConstraint(fields=("item", "campaign"), name="review_candidate_once"),
        )


class AccountMovement(models.Model):
    """A bank movement that is not a gift (fee, transfer out or in), posted to the books."""

    class Kind(models.TextChoices):
        FEE = "fee", _("bank fee")
        TRANSFER_OUT = "transfer_out", _("transfer out")
        TRANSFER_IN = "transfer_in", _("transfer in")

    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    imported = models.ForeignKey("imports.Import", null=True, blank=True, on_delete=models.SET_NULL)
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    txn = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booked_at = models.DateTimeField()
    bank_ref = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)

    class Meta:
        db_table = "imports_accountmovement"  # created by the imports app; moved, not renamed
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="movement_once"),
        )


class PendingReversal(models.Model):
    """A returned transfer whose original gift is not booked (yet).

    Applied (`donation_reverse`) as soon as a gift with `reverses_ref` as its bank reference
    is booked on the same account, whichever arrives first; or, when that gift will never be
    in these books, booked by an accountant as money out (`pending_reversal_post`).
    """

    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    imported = models.ForeignKey("imports.Import", null=True, blank=True, on_delete=models.SET_NULL)
    bin = models.CharField(max_length=6)
    number = models.CharField(max_length=40)
    reverses_ref = models.CharField(max_length=64)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booked_at = models.DateTimeField()
    memo = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    donation = models.ForeignKey(
        "donations.Donation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set when an accountant books the return as money out instead (its gift is not in these
    # books): who decided and why; the movement shares this row's (source, source_ref).
    decided_by = models.CharField(max_length=150, blank=True)
    decision_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "imports_pendingreversal"  # created by the imports app; moved, not renamed
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="pending_reversal_once"),
        )
        indexes = (models.Index(fields=("bin", "number", "reverses_ref")),)
