"""Reads for partners: the partners and their keys, an intent by its reference."""

from __future__ import annotations

from django.db.models import QuerySet

from solidarity.apps.partners.models import Intent, Partner


def partners_list() -> QuerySet[Partner]:
    return Partner.objects.prefetch_related("keys").order_by("name")


def intent_find(*, reference: str) -> Intent | None:
    """The intent whose reference a transfer or a gateway's order carries, if any."""
    return Intent.objects.filter(reference=reference).first() if reference else None
