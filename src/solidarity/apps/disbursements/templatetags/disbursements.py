"""`{% load disbursements %}{% where_the_money_went campaign %}` for the campaign page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation

from solidarity.apps.disbursements.selectors import BABEL_LOCALES, tranches_public

register = template.Library()


@register.inclusion_tag("disbursements/_where_the_money_went.html")
def where_the_money_went(campaign: Any, limit: int = 5) -> dict[str, Any]:
    lang = (translation.get_language() or "vi").lower()
    where = tranches_public(campaign, lang if lang in BABEL_LOCALES else "vi")
    return {"where": where, "campaign": campaign, "limit": limit}


@register.simple_tag
def tranches_public_for(campaign: Any) -> dict[str, Any]:
    """`{% tranches_public_for campaign as where %}`: the selector, in the page's language."""
    lang = (translation.get_language() or "vi").lower()
    return tranches_public(campaign, lang if lang in BABEL_LOCALES else "vi")
