"""Template filters that format for the visitor's language: {% load public %}."""

from __future__ import annotations

import html
from datetime import datetime
from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.urls import get_urlconf, translate_url
from django.utils import translation
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from solidarity.apps.public import formatting
from solidarity.apps.public.markdown import markdown_html

register = template.Library()


@register.filter
def money(minor: int, currency: str) -> str:
    """{{ row.amount_minor|money:row.currency }}"""
    return formatting.amount(minor, currency)


@register.filter
def num(value: Any) -> str:
    return formatting.number(value)


@register.filter
def when(moment: datetime | None) -> str:
    return formatting.when(moment) if moment else ""


def language_links(context: dict[str, Any]) -> list[dict[str, Any]]:
    """This page in every language: [{code, name, url, active}]."""
    request = context.get("request")
    path = escape_uri_path(request.path) if request is not None else "/"
    query = request.META.get("QUERY_STRING", "") if request is not None else ""
    current = translation.get_language()
    return [
        {
            "code": code,
            "name": name,
            "url": _path_in(path, code, get_urlconf()) + ("?" + iri_to_uri(query) if query else ""),
            "active": code == current,
        }
        for code, name in settings.LANGUAGES
    ]


@register.simple_tag(takes_context=True)
def language_nav(context: dict[str, Any]) -> SafeString:
    """The language switch: a link to this page in every language, the current one marked
    (`language_links`), built in one pass: every page shows it."""
    current = ' aria-current="true"'
    items = "".join(
        f'\n      <li><a href="{_esc(link["url"])}" hreflang="{link["code"]}" '
        f'lang="{link["code"]}"{current if link["active"] else ""}>'
        f"{_esc(link['name'])}</a></li>"
        for link in language_links(context)
    )
    return mark_safe(  # noqa: S308 - every value above is escaped or a language code
        f'<nav class="langs" aria-label="{_esc(_("Language"))}">\n    <ul>{items}\n    </ul>\n'
        "  </nav>"
    )


@lru_cache(maxsize=4096)
def _path_in(path: str, code: str, urlconf: str | None) -> str:
    """`path` in language `code` (a URL resolve and reverse, the same for every request)."""
    return translate_url(path, code)


@register.filter
def markdown(text: str) -> SafeString:
    """`{{ campaign.description|markdown }}`: Markdown with raw HTML disabled (see markdown.py)."""
    return mark_safe(markdown_html(str(text or "")))  # noqa: S308 - markdown-it escapes HTML


def _esc(value: object) -> str:
    return html.escape(str(value))


@register.simple_tag
def statement_rows(rows: list[dict[str, Any]], unconfirmed: set[str], slug: str) -> SafeString:
    """The statement's table rows, one `<tr>` per gift: the markup the row template had,
    built in one pass (a page of 200 gifts through the template engine cost more than its
    search). Every value is escaped (the standard library's `html.escape`, which is what
    Django's `escape` calls, without its lazy-string wrapper on each of 300 cells)."""
    badge = format_html(
        ' <span class="badge" title="{}">{}</span>',
        _("Reported by a bank feed and not yet confirmed by the bank statement"),
        _("unconfirmed"),
    )
    receipt = f"/c/{_esc(slug)}/receipt/"
    loc = formatting.locale()
    out = []
    for g in rows:
        ref = _esc(g["public_ref"])
        moment = g["received_at"]
        shown_at = formatting.when(moment, babel_locale=loc) if moment else ""
        out.append(
            f'<tr>\n  <td class="time">{_esc(shown_at)}</td>\n'
            f'  <td class="donor">{_esc(g["display_name"])}'
            f"{badge if g['public_ref'] in unconfirmed else ''}</td>\n"
            f'  <td class="num">{_esc(formatting.amount(g["amount_minor"], g["currency"], loc))}'
            "</td>\n"
            f'  <td class="memo">{_esc(g["memo_public"])}</td>\n'
            f'  <td class="channel">{_esc(g["channel_name"])}</td>\n'
            f'  <td class="receipt"><a href="{receipt}{ref}/"><code>{ref}</code></a></td>\n'
            "</tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
