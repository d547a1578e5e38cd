"""The browser verifier as one HTML file (inline script and style) that anyone can keep and
open offline, from disk, to check receipts without this site or any network."""

from __future__ import annotations

from functools import cache

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_public_get
from solidarity.apps.public.selectors import log_vkey


@cache
def _static(name: str) -> SafeString:
    """A static file's text, for inlining; refused if it could end its own element."""
    path = finders.find(f"solidarity/{name}")
    if not isinstance(path, str):
        raise FileNotFoundError(name)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name} cannot be inlined: it closes its element")
    return mark_safe(text)  # noqa: S308 (our own static file, checked above)


@require_GET
def verifier_download(request: HttpRequest) -> HttpResponse:
    """verifier.html; with ?campaign=<slug>, that campaign's verifier key filled in."""
    campaign = None
    vkey = ""
    if slug := (request.GET.get("campaign") or "")[:100]:
        try:
            campaign = campaign_public_get(slug=slug)
        except Campaign.DoesNotExist:
            raise Http404("no such campaign") from None
        vkey = log_vkey(campaign=campaign) or ""
    response = render(
        request,
        "public/verifier_standalone.html",
        {
            "campaign": campaign,
            "vkey": vkey,
            "standalone": True,
            "css": _static("site.css"),
            "js": _static("verify.js"),
        },
    )
    name = f"solidarity-verifier-{campaign.slug}.html" if campaign else "solidarity-verifier.html"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "public, max-age=3600"
    return response
