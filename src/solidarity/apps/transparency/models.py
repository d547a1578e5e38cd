"""The public log's outbox: every booked movement becomes one entry, in the same transaction."""

from __future__ import annotations

from django.db import models


class LogEntry(models.Model):
    """One canonical-JSON entry of a campaign's log.

    Written in the booking transaction with `index` NULL; the sequencer assigns indexes
    to unsequenced entries (it selects `index IS NULL`, never `id > last`, because ids
    are not committed in order on PostgreSQL). Only `index` is ever set, once.
    """

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT)
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
