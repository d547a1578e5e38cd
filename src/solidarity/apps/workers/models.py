"""Heartbeats of the background workers, in the database so that every process and every node
of an installation (SQLite or PostgreSQL) sees the same ones."""

from __future__ import annotations

from django.db import models


class WorkerBeat(models.Model):
    """The last sign of life of one worker role on one host; overwritten at each beat."""

    class Role(models.TextChoices):
        SEQUENCER = "sequencer", "log sequencer"
        BOOKER = "booker", "notification booker"

    role = models.CharField(max_length=16, choices=Role.choices)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("role", "host"), name="workerbeat_once"),)

    def __str__(self) -> str:
        return f"{self.role}@{self.host}:{self.pid}"
