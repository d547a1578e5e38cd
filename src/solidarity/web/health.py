"""Readiness: whether this installation books and publishes what it acknowledges.

`/healthz` is liveness only (the process answers). `/readyz`, `/metrics` and `solidarity
status` read the checks below: each returns its measured values and, when one is past its
threshold (settings.SOLIDARITY_READY, each with an environment override), the reasons the
installation is not ready. A load balancer that checks `/readyz` takes a node out while a
reason stands and puts it back when none does; nothing has to be reset by hand.

Adding a check is one line in CHECKS: a function taking the thresholds and returning a Check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from solidarity.apps.donations.search import search_backlog
from solidarity.apps.feeds.selectors import notifications_health
from solidarity.apps.transparency.selectors import log_backlog
from solidarity.apps.workers.models import WorkerBeat
from solidarity.apps.workers.selectors import worker_last_beats
from solidarity.config import node_name
from solidarity.web.lifeline import process_alive

log = logging.getLogger("solidarity.health")


@dataclass(frozen=True)
class Check:
    """One check's outcome: its values (numbers, for people and Prometheus) and the reasons
    it fails (empty: it passes)."""

    name: str
    values: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


Thresholds = Mapping[str, float]


def _age(then: datetime | None, now: datetime) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def workers_check(limits: Thresholds) -> Check:
    """Each worker role runs: its freshest heartbeat (on any host) is within
    `heartbeat_seconds`, and when it comes from this host its process still exists (a
    killed worker is seen at once, not only once its heartbeat is stale)."""
    now = timezone.now()
    here = node_name()
    check = Check("workers")
    beats = worker_last_beats()
    for role in WorkerBeat.Role:
        beat = beats.get(role.value)
        age = _age(beat.beat_at, now) if beat else -1.0
        check.values[f"{role.value}_heartbeat_age_seconds"] = age
        if beat is None:
            check.reasons.append(f"{role.value} down: it has never reported")
        elif beat.host == here and not process_alive(beat.pid):
            check.reasons.append(f"{role.value} down: its process {beat.pid} is gone")
        elif age > limits["heartbeat_seconds"]:
            check.reasons.append(
                f"{role.value} down: last heartbeat {age:.0f}s ago on {beat.host} "
                f"(limit {limits['heartbeat_seconds']:g}s)"
            )
    return check


def sequencer_check(limits: Thresholds) -> Check:
    """Entries booked but not in a signed checkpoint: how many, and the oldest one's age."""
    backlog = log_backlog()
    age = _age(backlog.oldest_unpublished_at, timezone.now())
    check = Check(
        "sequencer",
        {"unpublished_entries": backlog.unpublished, "oldest_unpublished_seconds": age},
    )
    if backlog.unpublished > limits["unpublished_entries"]:
        check.reasons.append(
            f"sequencer lagging: {backlog.unpublished} entries not in a signed checkpoint "
            f"(limit {limits['unpublished_entries']:g})"
        )
    if age > limits["unpublished_seconds"]:
        check.reasons.append(
            f"sequencer lagging: the oldest unpublished entry was booked {age:.0f}s ago "
            f"(limit {limits['unpublished_seconds']:g}s)"
        )
    return check


def booker_check(limits: Thresholds) -> Check:
    """Acknowledged notifications not booked yet, the oldest one's age, failed ones and open
    conflicts (a provider id seen again with other terms)."""
    health = notifications_health()
    check = Check(
        "booker",
        {
            "waiting_notifications": health.waiting,
            "oldest_waiting_seconds": health.oldest_waiting_seconds,
            "failed_notifications": health.failed,
            "conflicts": health.conflicts,
        },
    )
    if health.waiting > limits["waiting_notifications"]:
        check.reasons.append(
            f"booker lagging: {health.waiting} acknowledged notifications not booked "
            f"(limit {limits['waiting_notifications']:g})"
        )
    if health.oldest_waiting_seconds > limits["waiting_seconds"]:
        check.reasons.append(
            "booker lagging: the oldest acknowledged notification waits for "
            f"{health.oldest_waiting_seconds:.0f}s (limit {limits['waiting_seconds']:g}s)"
        )
    if health.failed > limits["failed_notifications"]:
        check.reasons.append(
            f"booker: {health.failed} notifications failed to book "
            f"(limit {limits['failed_notifications']:g})"
        )
    if health.conflicts > limits["conflicts"]:
        check.reasons.append(
            f"booker: {health.conflicts} open conflicts (an id received again with other "
            f"terms; limit {limits['conflicts']:g})"
        )
    return check


def search_check(limits: Thresholds) -> Check:
    """Booked gifts the public search does not find yet (statement imports are indexed after
    their booking transactions by the indexer), and the oldest one's age.

    Shown, and failing readiness only when `unindexed_seconds` is above 0 (default 0: shown
    only). Every node shares the index, so a lag would take every node out of the load
    balancer at once, and a national statement lags for minutes while the pages, receipts
    and webhooks all still work."""
    backlog = search_backlog()
    age = _age(backlog.oldest_booked_at, timezone.now())
    check = Check("search", {"unindexed_gifts": backlog.waiting, "lag_seconds": age})
    limit = limits.get("unindexed_seconds", 0)
    if limit > 0 and backlog.waiting and age > limit:
        check.reasons.append(
            f"search indexer lagging: {backlog.waiting} gifts not searchable, the oldest booked "
            f"{age:.0f}s ago (limit {limit:g}s)"
        )
    return check


CHECKS: list[Callable[[Thresholds], Check]] = [
    workers_check,
    sequencer_check,
    booker_check,
    search_check,
]


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [reason for c in self.checks for reason in c.reasons]

    def as_json(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "reasons": self.reasons,
            "checks": {c.name: c.values for c in self.checks},
        }


def readiness(limits: Thresholds | None = None) -> Readiness:
    """Run every check; a check that cannot run (database unreachable) is a reason itself."""
    limits = settings.SOLIDARITY_READY if limits is None else limits
    checks = []
    for run in CHECKS:
        try:
            checks.append(run(limits))
        except Exception as exc:  # whatever stops a measurement is a reason to be unready
            name = run.__name__.removesuffix("_check")
            log.exception("readiness check %s could not run", name)
            checks.append(Check(name, reasons=[f"{name} check failed: {type(exc).__name__}"]))
    return Readiness(checks)
