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


class Lease(models.Model):
    """Who holds a role of which one runs at a time across every node (the sequencer of a
    log, the booker), and until when. Taken and renewed only by one conditional UPDATE in a
    short transaction against the database's clock (`leases.lease_take`), never by a
    session-level lock, so it works behind a transaction-pooling PgBouncer."""

    name = models.CharField(max_length=120, primary_key=True)
    holder = models.CharField(max_length=200, default="")
    expires_at = models.DateTimeField()
    taken_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or '-'} until {self.expires_at}"
