"""Reads for the back office and the CLI: the review queue and past imports."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from solidarity.apps.imports.models import Import


def imports_query(*, status: str | None = None) -> QuerySet[Import]:
    """Imports that have a status (all, or those with `status`), for the office list."""
    rows = Import.objects.filter(~Q(status="")).select_related("campaign")
    return rows.filter(status=status) if status else rows


def imports_recent(*, limit: int = 20) -> list[Import]:
    return list(Import.objects.filter(~Q(status="")).select_related("campaign")[:limit])


def import_get(*, pk: int) -> Import | None:
    return Import.objects.select_related("campaign").filter(pk=pk).first()
