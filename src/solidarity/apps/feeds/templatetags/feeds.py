"""`{% load feeds %}{% unconfirmed_refs rows as unconfirmed %}` then
`{% if g.public_ref in unconfirmed %}`: one query for a page of gifts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from solidarity.apps.feeds import selectors

register = template.Library()


@register.simple_tag
def unconfirmed_refs(rows: Iterable[Any]) -> set[str]:
    refs = []
    for row in rows:
        ref = row.get("public_ref") if isinstance(row, dict) else getattr(row, "public_ref", "")
        refs.append(ref or "")
    return selectors.unconfirmed_refs(refs=refs)
