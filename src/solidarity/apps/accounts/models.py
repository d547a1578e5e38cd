"""People use django.contrib.auth; roles are groups created by migration 0001.

AuditEvent is the back office's append-only trail: the database refuses UPDATE and DELETE
on its table (migration 0002), so a row, once written, stays as written.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One change made through a back-office door: admin, office page or CLI command.

    `username` and `roles` are copied, not linked, so the row outlives the account and
    never changes when the account does.
    """

    class Via(models.TextChoices):
        ADMIN = "admin"
        OFFICE = "office"
        CLI = "cli"

    at = models.DateTimeField(db_index=True)
    username = models.CharField(max_length=150, blank=True)
    roles = models.CharField(max_length=100, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.CharField(max_length=64, blank=True, help_text="client address, or host for CLI")

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.target}"
