"""Bank transactions in: statement imports, the review queue, account movements.

Every bank transaction has one identity `(source, source_ref)`: `source` is
`bank:<bin>:<number>` of the receiving account, `source_ref` the transaction's
`BankTransaction.identity` (core/statements/IDENTITY.md). Each outcome table below is unique
on it, as `donations.Donation` and `donations.Reversal` are, so a transaction is booked once
whatever the channel, the file or the number of runs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Import(models.Model):
    """One statement file handed to `statement_import`, with what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued (waiting for the import worker)"
        RUNNING = "running"
        DONE = "done"
        REFUSED = "refused", "refused (nothing booked)"
        FAILED = "failed", "failed (re-run to finish)"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=16, blank=True)
    account = models.CharField(max_length=40, blank=True, help_text="BIN:NUMBER")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT
    )
    source_kind = models.CharField(max_length=16, default="statement")
    by = models.CharField(max_length=150, help_text="who ran it (user name or cli:<login>)")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    rows_read = models.BigIntegerField(default=0)
    booked = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    to_review = models.BigIntegerField(default=0)
    reversals = models.BigIntegerField(default=0)
    reversals_pending = models.BigIntegerField(default=0)
    not_gifts = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="first errors, file:line")
    phase = models.CharField(max_length=8, blank=True, help_text="read or book, while running")
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life of the worker running an upload"
    )

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"import {self.pk} {self.file_name}"

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)


class ImportUpload(models.Model):
    """The bytes of a statement uploaded in the back office, kept in the database (every
    node can read them) until the import worker has run its `Import`; then deleted."""

    imported = models.OneToOneField(Import, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()


class ReviewItem(models.Model):
    """A credit that matched no campaign or several; waits for an accountant's decision.

    Holds private details (sender account, raw memo) like `DonationPrivate`; shown only in
    the back office.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        ASSIGNED = "assigned"
        REJECTED = "rejected", "not a gift"

    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    source_kind = models.CharField(max_length=16, default="statement")
    imported = models.ForeignKey(Import, null=True, blank=True, on_delete=models.SET_NULL)
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
        constraints = (
            models.UniqueConstraint(fields=("item", "campaign"), name="review_candidate_once"),
        )


class AccountMovement(models.Model):
    """A bank movement that is not a gift (fee, transfer out or in), posted to the books."""

    class Kind(models.TextChoices):
        FEE = "fee"
        TRANSFER_OUT = "transfer_out"
        TRANSFER_IN = "transfer_in"

    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    imported = models.ForeignKey(Import, null=True, blank=True, on_delete=models.SET_NULL)
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
    imported = models.ForeignKey(Import, null=True, blank=True, on_delete=models.SET_NULL)
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
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="pending_reversal_once"),
        )
        indexes = (models.Index(fields=("bin", "number", "reverses_ref")),)
