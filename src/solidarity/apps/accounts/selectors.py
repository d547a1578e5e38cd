"""Reads of people and the audit trail."""

from __future__ import annotations

from typing import Any

from solidarity.apps.accounts.models import AuditEvent


def audit_list(*, limit: int = 200, username: str = "", action: str = "") -> list[dict[str, Any]]:
    """The newest `limit` audit events, newest first, as plain dicts."""
    rows = AuditEvent.objects.all()
    if username:
        rows = rows.filter(username=username)
    if action:
        rows = rows.filter(action__startswith=action)
    return [
        {
            "id": e.pk,
            "at": e.at.isoformat(),
            "username": e.username,
            "roles": e.roles,
            "via": e.via,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
            "ip": e.ip,
        }
        for e in rows[:limit]
    ]
