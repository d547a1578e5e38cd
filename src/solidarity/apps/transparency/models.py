"""The public log's outbox: every booked movement becomes one entry, in the same transaction."""

from __future__ import annotations

from django.db import models


class LogEntry(models.Model):
    """One canonical-JSON entry of a campaign's log.

    Written in the booking transaction with `index` NULL; the sequencer assigns indexes
    to unsequenced entries (it selects `index IS NULL`, never `id > last`, because ids
    are not committed in order on PostgreSQL). Only `index` is ever set, once.
    """

    # Indexed through the (campaign, index) unique constraint below.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, db_index=False)
    kind = models.CharField(max_length=32)
    ref = models.CharField(max_length=32, db_index=True)
    body = models.BinaryField()
    index = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("campaign", "index"), name="log_index_once"),
        )
        indexes = (
            models.Index(
                fields=("campaign", "id"),
                condition=models.Q(index__isnull=True),
                name="log_unsequenced",
            ),
        )


class LogState(models.Model):
    """A campaign log's sequencing state; changed only by the sequencer holding the log's lock.

    `size` counts the entries given an index (0..size-1), committed before any file describing
    them is written; the published checkpoint's size is never above it. `published_size` and
    `root` copy the last checkpoint the sequencer published (informational: the file is the
    truth). `origin` and `vkey` are fixed when the log is created; the private key is a file.
    """

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, primary_key=True, related_name="log_state"
    )
    origin = models.CharField(max_length=200)
    vkey = models.CharField(max_length=300)
    size = models.BigIntegerField(default=0)
    published_size = models.BigIntegerField(default=0)
    root = models.BinaryField(max_length=32, default=b"")
    published_at = models.DateTimeField(null=True, blank=True)
