"""Reads of worker heartbeats."""

from __future__ import annotations

from solidarity.apps.workers.models import WorkerBeat


def worker_last_beats() -> dict[str, WorkerBeat]:
    """Per role, its freshest heartbeat on any host; a role that never beat is absent."""
    last: dict[str, WorkerBeat] = {}
    for beat in WorkerBeat.objects.order_by("beat_at"):
        last[beat.role] = beat
    return last
