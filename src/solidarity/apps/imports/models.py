"""Statement files: imports and their uploaded bytes (the review queue, returns and account
movements they lead to are `solidarity.apps.banking.models`).

Every bank transaction has one identity `(source, source_ref)`: `source` is
`bank:<bin>:<number>` of the receiving account, `source_ref` the transaction's
`BankTransaction.identity` (core/statements/IDENTITY.md). Each outcome table below is unique
on it, as `donations.Donation` and `donations.Reversal` are, so a transaction is booked once
whatever the channel, the file or the number of runs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Import(models.Model):
    """One statement file handed to `statement_import`, with what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued (waiting for the import worker)")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        REFUSED = "refused", _("refused (nothing booked)")
        FAILED = "failed", _("failed (re-run to finish)")

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

    # `errors` holds a refused or failed file's errors, or an accepted file's warnings
    # (entries with "level": "warning": what the reader corrected in rows it booked).
    @property
    def refusals(self) -> list[dict[str, Any]]:
        return [e for e in self.errors if e.get("level") != "warning"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [e for e in self.errors if e.get("level") == "warning"]

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
