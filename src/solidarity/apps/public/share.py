"""What other sites show of a campaign: its share card (og:image), the favicon, and the
embeddable progress widget, the one page other sites may put in a frame.

Every other page is refused to frames twice over: X-Frame-Options DENY (Django's
XFrameOptionsMiddleware) and CSP `frame-ancestors 'none'` (solidarity.web.framing).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Final

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw, ImageFont

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_public_get
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.public import formatting
from solidarity.apps.public.caching import cached
from solidarity.apps.public.views import PAGE_SECONDS

CARD_SECONDS: Final = 60
CARD_SIZE: Final = (1200, 630)
ACCENT: Final = (163, 0, 27)
# Fonts with Vietnamese letters, tried in order; Pillow's own font when none is installed.
FONTS: Final = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
)
WIDGET_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *; base-uri 'none'"
)


def _campaign(slug: str) -> Campaign:
    try:
        return campaign_public_get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("no such campaign") from None


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> tuple[str, int]:
    """`text` at the largest size up to `size` that fits `width`, cut with … if need be."""
    while size > 28 and draw.textlength(text, font=_font(size)) > width:
        size -= 4
    while len(text) > 1 and draw.textlength(text, font=_font(size)) > width:
        text = text[:-2] + "…"
    return text, size


def card_png(*, title: str, raised: str, goal_line: str, ratio: float) -> bytes:
    """A 1200×630 PNG share card: the campaign's name, what it raised, and a progress bar."""
    image = Image.new("RGB", CARD_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    width = CARD_SIZE[0] - 160
    draw.rectangle((0, 0, CARD_SIZE[0], 24), fill=ACCENT)
    text, size = _fit(draw, title, 72, width)
    draw.text((80, 90), text, fill=(26, 26, 26), font=_font(size))
    text, size = _fit(draw, raised, 96, width)
    draw.text((80, 240), text, fill=ACCENT, font=_font(size))
    text, size = _fit(draw, goal_line, 44, width)
    draw.text((80, 370), text, fill=(77, 77, 77), font=_font(size))
    draw.rounded_rectangle((80, 460, 80 + width, 510), radius=25, fill=(230, 230, 230))
    filled = round(width * max(0.0, min(ratio, 1.0)))
    if filled >= 50:
        draw.rounded_rectangle((80, 460, 80 + filled, 510), radius=25, fill=ACCENT)
    draw.text((80, 545), "Solidarity", fill=ACCENT, font=_font(36))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _progress(campaign: Campaign) -> dict[str, str | float]:
    totals = campaign_totals(campaign=campaign)
    cur = campaign.currency
    ratio = totals["raised_minor"] / campaign.goal_minor
    return {
        "raised": formatting.amount(totals["raised_minor"], cur),
        "goal": formatting.amount(campaign.goal_minor, cur),
        "gifts": formatting.number(totals["donation_count"]),
        "percent": formatting.percent(ratio),
        "ratio": ratio,
        "bar": f"{min(ratio * 100, 100):.1f}",
    }


@require_GET
def share_card(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign's og:image, in the visitor's language; rendered at most once a minute."""
    campaign = _campaign(slug)

    def render_card() -> bytes:
        p = _progress(campaign)
        return card_png(
            title=campaign.name,
            raised=_("%(raised)s raised") % {"raised": p["raised"]},
            goal_line=_("%(percent)s of the goal of %(goal)s · %(gifts)s gifts")
            % {"percent": p["percent"], "goal": p["goal"], "gifts": p["gifts"]},
            ratio=float(p["ratio"]),
        )

    body = cached(f"public:card:{slug}:{translation.get_language()}", CARD_SECONDS, render_card)
    response = HttpResponse(body, content_type="image/png")
    response["Cache-Control"] = f"public, max-age={CARD_SECONDS}"
    return response


@cache
def favicon_ico() -> bytes:
    """The site's icon: a white heart on the accent colour, at the sizes browsers ask for."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 63, 63), radius=12, fill=(*ACCENT, 255))
    draw.ellipse((12, 16, 34, 38), fill="white")
    draw.ellipse((30, 16, 52, 38), fill="white")
    draw.polygon([(13, 31), (51, 31), (32, 52)], fill="white")
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    return out.getvalue()


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(favicon_ico(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@xframe_options_exempt
@require_GET
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    """A small progress card for other sites to frame; links open the campaign page."""
    campaign = _campaign(slug)
    response = render(request, "public/widget.html", {"campaign": campaign, **_progress(campaign)})
    response["Content-Security-Policy"] = WIDGET_CSP
    response["Cache-Control"] = f"public, max-age={PAGE_SECONDS}"
    return response
