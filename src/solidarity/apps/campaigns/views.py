"""Public campaign pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_get, campaign_totals
from solidarity.core.banks import bank_by_bin
from solidarity.core.money import Money, money_format

_BABEL_LOCALES = {"vi": "vi", "en": "en", "es": "es", "pt-br": "pt_BR"}


def campaign_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        campaign = campaign_get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("no such campaign") from None
    if campaign.status == Campaign.Status.DRAFT:
        raise Http404("no such campaign")
    totals = campaign_totals(campaign=campaign)
    locale = _BABEL_LOCALES.get(translation.get_language() or "vi", "vi")
    cur = campaign.currency
    percent = totals["raised_minor"] * 100 / campaign.goal_minor
    accounts = []
    for account in campaign.accounts.all():
        bank = bank_by_bin(account.bin)
        accounts.append(
            {
                "bank": bank.short_name if bank else account.bin,
                "number": account.number,
                "holder": account.holder,
            }
        )
    return render(
        request,
        "campaigns/campaign.html",
        {
            "campaign": campaign,
            "raised": money_format(Money(totals["raised_minor"], cur), locale),
            "goal": money_format(Money(campaign.goal_minor, cur), locale),
            "gifts": f"{totals['donation_count']:,}",
            "percent": f"{percent:.1f}",
            "percent_bar": f"{min(percent, 100):.1f}",
            "reached_hours": totals["goal_reached_after_hours"],
            "accounts": accounts,
        },
    )
