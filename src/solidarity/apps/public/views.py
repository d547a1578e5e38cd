"""The public campaign site: campaign page, give (VietQR), statement, verify, charts.

Handlers parse the request, call selectors, and render. Everything here works without
JavaScript; scripts only refresh totals and check proofs in the browser.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from solidarity.apps.campaigns.models import Campaign, CampaignPhoto, CampaignUpdate
from solidarity.apps.campaigns.selectors import (
    campaign_gift_problem,
    campaign_public_get,
    campaign_public_recent,
)
from solidarity.apps.donations.selectors import (
    COUNT_CAP,
    SORTS,
    SearchError,
    StatementCount,
    StatementQuery,
    donation_count,
    donation_search,
    donation_stream,
    statement_query_read,
)
from solidarity.apps.donations.services import privacy_reference_create
from solidarity.apps.ledger.selectors import campaign_gift_count, campaign_totals
from solidarity.apps.public import charts, formatting
from solidarity.apps.public.caching import cached
from solidarity.apps.public.selectors import (
    AccountView,
    campaign_accounts,
    campaign_chart_data,
    latest_gifts,
    log_origin,
    log_vkey,
    log_witnesses,
)
from solidarity.core.gift_rules import memo_room, transfer_memo
from solidarity.core.money import (
    Money,
    MoneyError,
    amount_typed,
    currency_exponent,
    transfer_max_minor,
)
from solidarity.core.qrimage import qr_png, qr_svg
from solidarity.core.statements import ANY_DATE
from solidarity.core.tlog.entry import rfc3339
from solidarity.core.vietqr import VietQRError, vietqr_build, vietqr_payload

TRANCHE_TEMPLATE: Final = "disbursements/_where_the_money_went.html"
PAGE_SECONDS: Final = 2
_REF = re.compile(r"^[A-Za-z0-9 ]*$")
_PRESETS: Final = {0: (50_000, 100_000, 200_000, 500_000, 1_000_000), 2: (5, 10, 20, 50, 100)}


def _campaign(slug: str, *, recent: bool = False) -> Campaign:
    """The public campaign `slug`, or 404; `recent`: as read in this process within the
    second (`campaign_public_recent`, for the statement's every search; read-only)."""
    read = campaign_public_recent if recent else campaign_public_get
    try:
        return read(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("no such campaign") from None


def healthz(request: HttpRequest) -> HttpResponse:
    """A static answer, the baseline of the load benchmarks."""
    return HttpResponse(b"ok", content_type="text/plain")


def privacy_page(request: HttpRequest) -> HttpResponse:
    """The privacy policy: what of a gift is published where (solidarity.core.privacy)."""
    response = render(request, "public/privacy.html")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("-opens_at")[:50]
    return render(request, "public/home.html", {"campaigns": campaigns})


# --- campaign page -----------------------------------------------------------------------


def _tranche_template() -> str | None:
    try:
        get_template(TRANCHE_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return TRANCHE_TEMPLATE


def _charts(campaign: Campaign, raised: int) -> dict[str, Any]:
    data = campaign_chart_data(campaign=campaign)
    cur = campaign.currency
    hours: list[tuple[datetime, int, int]] = data["hours"]
    out: dict[str, Any] = {}
    start = campaign.opens_at
    end = max(
        min(timezone.now(), campaign.closes_at),
        hours[-1][0] + timedelta(hours=1) if hours else start,
    )
    span = max((end - start).total_seconds(), 3600.0)
    cumulative = 0
    points = []
    for hour, _n, amount in hours:
        cumulative += amount
        x = min(max((hour + timedelta(hours=1) - start).total_seconds() / span, 0.0), 1.0)
        points.append((x, float(cumulative)))
    goal_text = formatting.amount(campaign.goal_minor, cur)
    out["progress"] = charts.progress_chart(
        title=_("Raised over time, against the goal"),
        desc=_("%(raised)s raised of a goal of %(goal)s, from %(start)s to %(end)s.")
        % {
            "raised": formatting.amount(raised, cur),
            "goal": goal_text,
            "start": formatting.day(start),
            "end": formatting.day(end),
        },
        points=points,
        goal=float(campaign.goal_minor),
        start_label=formatting.day(start),
        end_label=formatting.day(end),
        goal_label=_("Goal %(goal)s") % {"goal": goal_text},
    )
    # Gifts per hour, averaged over at most 48 columns so each stays wide enough to see.
    total_hours = max(int(span // 3600) + 1, 1)
    per = max(-(-total_hours // 48), 1)
    columns = [0] * (-(-total_hours // per))
    for hour, n, _amount in hours:
        i = int((hour - start).total_seconds() // 3600) // per
        if 0 <= i < len(columns):
            columns[i] += n
    bars = []
    for i, n in enumerate(columns):
        at = start + timedelta(hours=i * per)
        rate = n / per
        bars.append(
            charts.Bar(formatting.when(at), rate, formatting.number(rate, 1 if per > 1 else 0))
        )
    # The busiest single clock hour, not a column's average over several hours.
    busiest = max(hours, key=lambda h: h[1]) if hours else None
    peak_count = formatting.number(busiest[1], 0) if busiest else "0"
    out["hourly"] = charts.column_chart(
        title=_("Gifts per hour"),
        desc=_("The busiest hour had %(peak)s gifts, around %(when)s.")
        % {"peak": peak_count, "when": formatting.when(busiest[0]) if busiest else ""},
        bars=bars,
        start_label=formatting.day(start),
        end_label=formatting.day(end),
        peak=_("Peak: %(peak)s gifts an hour") % {"peak": peak_count},
    )
    sizes = []
    for lo, hi, n in data["sizes"]:
        label = (
            f"{formatting.amount(lo, cur)}+"
            if hi is None
            else _("under %(amount)s") % {"amount": formatting.amount(hi, cur)}
            if lo == 0
            else f"{formatting.amount(lo, cur)}–"
        )
        sizes.append(charts.Bar(label, n, formatting.number(n)))
    out["sizes"] = charts.bar_chart(
        title=_("Gift sizes"),
        desc="; ".join(f"{b.label}: {b.shown}" for b in sizes),
        bars=sizes,
    )
    names = _channel_names()
    channels = [
        charts.Bar(names.get(c, c), n, formatting.number(n)) for c, n, _s in data["channels"]
    ]
    out["channels"] = charts.bar_chart(
        title=_("Gifts by channel"),
        desc="; ".join(f"{b.label}: {b.shown}" for b in channels),
        bars=channels,
    )
    return out


def _channel_names() -> dict[str, str]:
    return {
        "bank_transfer": _("Bank transfer"),
        "qr": _("VietQR"),
        "wallet": _("Wallet"),
        "card": _("Card"),
        "cash": _("Cash"),
        "in_kind": _("In kind"),
    }


@require_GET
def campaign_page(request: HttpRequest, slug: str) -> HttpResponse:
    language = translation.get_language()
    body = cached(
        f"public:page:{slug}:{language}",
        PAGE_SECONDS,
        lambda: _campaign_render(request, _campaign(slug)).content,
    )
    response = HttpResponse(body)
    response["Cache-Control"] = f"public, max-age={PAGE_SECONDS}"
    return response


def _campaign_render(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    totals = campaign_totals(campaign=campaign)
    cur = campaign.currency
    raised = totals["raised_minor"]
    ratio = raised / campaign.goal_minor
    now = timezone.now()
    closed = campaign.state(now) == Campaign.Status.CLOSED
    return render(
        request,
        "public/campaign.html",
        {
            "campaign": campaign,
            "totals": totals,
            "raised": formatting.amount(raised, cur),
            "goal": formatting.amount(campaign.goal_minor, cur),
            "gifts": formatting.number(totals["donation_count"]),
            "donors": formatting.number(totals["donor_count"]),
            "percent": formatting.percent(ratio),
            "percent_bar": f"{min(ratio * 100, 100):.1f}",
            "closed": formatting.when(campaign.closes_at, "medium") if closed else None,
            "since": formatting.duration(now - campaign.opens_at)
            if now > campaign.opens_at and not closed
            else None,
            "opens": formatting.when(campaign.opens_at, "medium"),
            "reached_hours": formatting.number(totals["goal_reached_after_hours"], 1)
            if totals["goal_reached_after_hours"] is not None
            else None,
            "latest": latest_gifts(campaign=campaign),
            "updates": list(campaign.updates.all()[:10]),
            "photos": list(campaign.photos.all()[:12]),
            "accounts": campaign_accounts(campaign=campaign),
            "vkey": log_vkey(campaign=campaign),
            "origin": log_origin(campaign=campaign),
            "witnessing": log_witnesses(campaign=campaign),
            "tranche_template": _tranche_template(),
            "charts": _charts(campaign, raised),
            "channels": _channel_names(),
            "page_url": request.build_absolute_uri(request.path),
            "card_url": request.build_absolute_uri(
                f"/{translation.get_language()}/c/{campaign.slug}/card.png"
            ),
            "share_text": _("%(raised)s raised of a goal of %(goal)s, from %(gifts)s gifts.")
            % {
                "raised": formatting.amount(raised, cur),
                "goal": formatting.amount(campaign.goal_minor, cur),
                "gifts": formatting.number(totals["donation_count"]),
            },
        },
    )


# --- give ----------------------------------------------------------------------------------


class GiveError(ValueError):
    pass


_GIVE_PRIVACY: Final = ("masked", "anonymous", "named")


def _give_memo(campaign: Campaign, ref: str) -> str:
    ref = " ".join(ref.split())
    if not _REF.match(ref):
        raise GiveError(_("Your reference may hold only letters, digits and spaces."))
    memo = transfer_memo(campaign.code, ref)
    if memo is None:
        raise GiveError(
            _("Your reference may be at most %(n)s characters long.")
            % {"n": memo_room(campaign.code)}
        )
    return memo


def _give_amount(campaign: Campaign, minor: int | None) -> int | None:
    if minor is None:
        return None
    cur = campaign.currency
    problem = campaign_gift_problem(campaign, minor)
    if problem is None:
        return minor
    if problem.kind == "not_positive":
        raise GiveError(_("The amount must be more than zero."))
    if problem.kind == "below_minimum":
        raise GiveError(
            _("The smallest gift this campaign takes is %(amount)s.")
            % {"amount": formatting.amount(problem.limit, cur)}
        )
    raise GiveError(
        _("The largest gift this campaign takes is %(amount)s.")
        % {"amount": formatting.amount(problem.limit, cur)}
    )


def _whole_number(text: str) -> int:
    """A whole number of minor units typed in a query; GiveError otherwise."""
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise GiveError(_("The amount must be a whole number of dong."))
    return int(text)


def _give_payload(campaign: Campaign, account: AccountView, amount: int | None, ref: str) -> str:
    if campaign.currency != "VND":
        raise GiveError(_("VietQR codes carry Vietnamese dong only."))
    if not account.vietqr:
        raise GiveError(_("This bank has no VietQR code: transfer to this account by hand."))
    memo = _give_memo(campaign, ref)
    try:
        return vietqr_build(
            vietqr_payload(bin=account.bin, account=account.number, amount=amount, memo=memo)
        )
    except VietQRError as exc:
        raise GiveError(str(exc)) from None


def _account_pick(campaign: Campaign, key: str | None) -> tuple[list[AccountView], AccountView]:
    accounts = campaign_accounts(campaign=campaign)
    if not accounts:
        raise GiveError(_("This campaign has no receiving account yet."))
    if not key:
        return accounts, accounts[0]
    for a in accounts:
        if a.key == key:
            return accounts, a
    raise GiveError(
        _("%(account)s is not an official account of this campaign.") % {"account": key[:40]}
    )


def give_qr(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """The VietQR image for ?account=BIN:NUMBER&amount=N (minor units)&ref=..."""
    campaign = _campaign(slug)
    try:
        _accounts, account = _account_pick(campaign, request.GET.get("account"))
        raw = request.GET.get("amount", "").strip()
        amount = _give_amount(campaign, _whole_number(raw) if raw else None)
        payload = _give_payload(campaign, account, amount, request.GET.get("ref", ""))
    except GiveError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if kind == "png":
        response = HttpResponse(qr_png(payload), content_type="image/png")
    else:
        title = _("VietQR code to give to %(campaign)s") % {"campaign": campaign.name}
        response = HttpResponse(qr_svg(payload, title=title), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def give_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    exp = currency_exponent(campaign.currency)
    presets = [p * 10**exp for p in _PRESETS.get(exp, _PRESETS[2])]
    presets = [p for p in presets if campaign_gift_problem(campaign, p) is None]
    errors: list[str] = []
    chosen: int | None = None
    own = request.GET.get("own", "").strip()
    preset = request.GET.get("amount", "").strip()
    ref = request.GET.get("ref", "")
    try:
        if own:
            chosen = amount_typed(own[:60], campaign.currency, formatting.locale())
            if chosen is None:
                raise GiveError(_("“%(text)s” is not an amount.") % {"text": own[:30]})
        elif preset:
            chosen = _whole_number(preset)
        chosen = _give_amount(campaign, chosen)
    except GiveError as exc:
        errors.append(str(exc))
        chosen = None
    privacy = request.GET.get("privacy", "masked")
    shown_name = " ".join(request.GET.get("name", "").split())[:60]
    if privacy not in _GIVE_PRIVACY:
        errors.append(_("Choose how your gift appears from the list."))
        privacy = "masked"
    memo = campaign.code
    try:
        memo = _give_memo(campaign, ref)
        if privacy != "masked" and not errors:
            # The choice travels as a reference in the memo: it holds on every channel.
            choice = privacy_reference_create(privacy=privacy, donor_name=shown_name)
            ref = f"{choice.reference} {' '.join(ref.split())}".strip()
            memo = _give_memo(campaign, ref)
    except GiveError as exc:
        errors.append(str(exc))
        ref = ""
    try:
        accounts, _first = _account_pick(campaign, None)
    except GiveError as exc:
        accounts = []
        errors.append(str(exc))
    qr_query = {"amount": str(chosen) if chosen else "", "ref": " ".join(ref.split())}
    cards = []
    for a in sorted(accounts, key=lambda a: not a.vietqr):  # the accounts with a code first
        params = "&".join(
            f"{k}={v}" for k, v in (("account", a.key), *qr_query.items()) if v
        ).replace(" ", "+")
        cards.append({"account": a, "params": params})
    return render(
        request,
        "public/give.html",
        {
            "campaign": campaign,
            "cards": cards,
            "presets": [(p, formatting.amount(p, campaign.currency)) for p in presets],
            "chosen": chosen,
            "chosen_text": formatting.amount(chosen, campaign.currency) if chosen else "",
            "own": own,
            "ref": " ".join(ref.split()),
            "ref_room": memo_room(campaign.code),
            "privacy": privacy,
            "shown_name": shown_name,
            "memo": memo,
            "errors": errors,
            "vnd": campaign.currency == "VND",
        },
        status=400 if errors and request.GET else 200,
    )


# --- statement ---------------------------------------------------------------------------


class QueryError(ValueError):
    pass


def _day(text: str, field: str) -> datetime:
    try:
        d = datetime.strptime(text, "%Y-%m-%d")  # noqa: DTZ007 (a local day, zone set below)
    except ValueError:
        raise QueryError(_("%(field)s: use a date like 2025-08-25.") % {"field": field}) from None
    return _in_range(d.replace(tzinfo=ZoneInfo(settings.TIME_ZONE)), field)


def _moment(text: str, field: str) -> datetime:
    if len(text) == 10:
        return _day(text, field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(_("%(field)s: use a date like 2025-08-25.") % {"field": field}) from None
    return _in_range(moment if moment.tzinfo else moment.replace(tzinfo=UTC), field)


def _in_range(moment: datetime, field: str) -> datetime:
    """`moment` when it lies where records can (`ANY_DATE`), else QueryError."""
    if ANY_DATE.problem(moment.date()) is None:
        return moment
    raise QueryError(
        _("%(field)s: use a date between %(first)s and %(last)s.")
        % {
            "field": field,
            "first": ANY_DATE.not_before.isoformat(),
            "last": ANY_DATE.not_after.isoformat(),
        }
    )


def statement_query(
    params: Any, campaign: Campaign, *, minor_units: bool
) -> tuple[StatementQuery, list[str]]:
    """The statement query in `params`, and every problem found with it.

    Page forms take amounts as people type them in their language; the API takes minor units.
    `to` names the last day included (a date) or an exclusive instant (a full timestamp).
    """
    errors: list[str] = []
    amounts: dict[str, int | None] = {"min": None, "max": None}
    for name in amounts:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            if minor_units:
                if not (raw.isascii() and raw.isdigit()) or len(raw) > 30:
                    raise MoneyError(raw)
                value = int(raw)
            else:
                typed = amount_typed(raw[:60], campaign.currency, formatting.locale())
                if typed is None:
                    raise MoneyError(raw)
                value = typed
        except MoneyError:
            errors.append(_("“%(text)s” is not an amount.") % {"text": raw[:30]})
            continue
        if value < 0 or value > transfer_max_minor(campaign.currency):
            errors.append(_("“%(text)s” is larger than any gift.") % {"text": raw[:30]})
            continue
        amounts[name] = value
    if (
        amounts["min"] is not None
        and amounts["max"] is not None
        and amounts["min"] > amounts["max"]
    ):
        errors.append(_("The smallest amount is larger than the largest."))
    since = until = None
    try:
        if raw := (params.get("from") or "").strip():
            since = _moment(raw, _("From"))
        if raw := (params.get("to") or "").strip():
            until = _moment(raw, _("To"))
            if len(raw) == 10:
                until += timedelta(days=1)
    except QueryError as exc:
        errors.append(str(exc))
    if since is not None and until is not None and until <= since:
        errors.append(_("The end date is before the start date."))
    sort = params.get("sort") or "-time"
    if sort not in SORTS:
        errors.append(_("Sort by one of: %(sorts)s.") % {"sorts": ", ".join(SORTS)})
        sort = "-time"
    query = StatementQuery(
        q=(params.get("q") or "")[:200],
        min_minor=amounts["min"],
        max_minor=amounts["max"],
        since=since,
        until=until,
        ref=(params.get("ref") or "")[:32],
        sort=sort,
    )
    return query, errors


@require_GET
def statement_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug, recent=True)
    query, errors = statement_query(request.GET, campaign, minor_units=False)
    page = count = None
    read = "words"
    if not errors:
        amount = amount_typed(query.q[:60], campaign.currency, formatting.locale())
        if amount is not None and amount > transfer_max_minor(campaign.currency):
            amount = None
        query, read = statement_query_read(campaign=campaign, query=query, amount=amount)
        try:
            page = donation_search(
                campaign=campaign,
                query=query,
                cursor=request.GET.get("after") or None,
                before=request.GET.get("before") or None,
                count_cap=COUNT_CAP,
            )
        except SearchError as exc:
            errors.append(str(exc))
        if page is not None and _filtered(query):
            if page.count is not None and not request.GET.get("before"):
                count = page.count
            elif (
                page.next_cursor is None
                and not request.GET.get("after")
                and not (request.GET.get("before"))
            ):
                # Every match is on this first page: its rows are the count and the sum.
                count = StatementCount(
                    len(page.rows), sum(r["amount_minor"] for r in page.rows), exact=True
                )
            else:
                count = donation_count(campaign=campaign, query=query)
    base = request.GET.copy()
    base.pop("after", None)
    base.pop("before", None)
    next_query = prev_query = None
    if page and page.next_cursor:
        nxt = base.copy()
        nxt["after"] = page.next_cursor
        next_query = nxt.urlencode()
    if page and page.prev_cursor:
        prev = base.copy()
        prev["before"] = page.prev_cursor
        prev_query = prev.urlencode()
    sorts = {}
    for s in ("time", "amount"):  # the column headers' links
        q = base.copy()
        q["sort"] = s
        sorts[s] = q.urlencode()
    names = _channel_names()
    for row in page.rows if page else []:
        row["channel_name"] = names.get(row["channel"], row["channel"])
    return render(
        request,
        "public/statement.html",
        {
            "campaign": campaign,
            "form": request.GET,
            "query": query,
            "rows": page.rows if page else [],
            "errors": errors,
            "next_query": next_query,
            "prev_query": prev_query,
            "first_query": base.urlencode()
            if request.GET.get("after") or request.GET.get("before")
            else None,
            "read": read,
            "read_amount": formatting.amount(query.min_minor, campaign.currency)
            if read == "amount" and query.min_minor
            else "",
            "read_code": query.bank or query.ref,
            "count": count,
            "count_text": formatting.number(count.count) if count else "",
            "count_sum": formatting.amount(count.sum_minor, campaign.currency)
            if count and count.sum_minor is not None
            else "",
            "export_query": base.urlencode(),
            "sorts": sorts,
            "channels": _channel_names(),
            "gifts": formatting.number(campaign_gift_count(campaign=campaign)),
        },
        status=400 if errors else 200,
    )


def _filtered(query: StatementQuery) -> bool:
    """Whether the query narrows the statement at all (else the page's totals say it all)."""
    return bool(
        query.q.strip()
        or query.ref
        or query.bank
        or query.min_minor is not None
        or query.max_minor is not None
        or query.since
        or query.until
    )


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell that no spreadsheet will run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def public_row(row: dict[str, Any], slug: str) -> dict[str, Any]:
    """A gift as the statement publishes it (API, JSON export)."""
    return {
        "ref": row["public_ref"],
        "at": rfc3339(row["received_at"]),
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "channel": row["channel"],
        "donor": row["display_name"],
        "memo": row["memo_public"],
        "receipt": f"/c/{slug}/receipt/{row['public_ref']}/",
    }


@require_GET
def statement_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    campaign = _campaign(slug)
    query, errors = statement_query(request.GET, campaign, minor_units=True)
    if errors:
        return HttpResponseBadRequest("\n".join(errors), content_type="text/plain; charset=utf-8")
    rows = donation_stream(campaign=campaign, query=query)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(
            _json_chunks(rows, slug), content_type="application/json; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{slug}-statement-{stamp}.{fmt}"'
    return response


def _csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")  # spreadsheets read the file as UTF-8 with the BOM
    writer.writerow(["at", "ref", "donor", "memo", "amount", "currency", "channel"])
    for n, row in enumerate(rows, 1):
        amount = Money(row["amount_minor"], row["currency"]).to_decimal()
        writer.writerow(
            [
                csv_cell(rfc3339(row["received_at"])),
                csv_cell(row["public_ref"]),
                csv_cell(row["display_name"]),
                csv_cell(row["memo_public"]),
                str(amount),
                csv_cell(row["currency"]),
                csv_cell(row["channel"]),
            ]
        )
        if n % 500 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _json_chunks(rows: Iterator[dict[str, Any]], slug: str) -> Iterator[bytes]:
    yield b"["
    sep = b"\n"
    for row in rows:
        yield sep + json.dumps(public_row(row, slug), ensure_ascii=False).encode()
        sep = b",\n"
    yield b"\n]\n"


# --- verify ------------------------------------------------------------------------------


@require_GET
def verify_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    ref = (request.GET.get("ref") or "").strip().upper()[:32]
    witnessing = log_witnesses(campaign=campaign)
    return render(
        request,
        "public/verify.html",
        {
            "campaign": campaign,
            "ref": ref,
            "vkey": log_vkey(campaign=campaign) or "",
            "origin": log_origin(campaign=campaign),
            "witness_vkeys": json.dumps([w["vkey"] for w in witnessing["witnesses"]]),
            "witness_quorum": witnessing["quorum"],
        },
    )


# --- campaign photos -------------------------------------------------------------------------

PHOTO_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def campaign_media(request: HttpRequest, path: str) -> HttpResponse:
    """A campaign photo or an update's photo from the default storage; only files a photo or
    update names are served, with an image type from their name and nothing else."""
    name = f"campaigns/{path}"
    known = (
        CampaignPhoto.objects.filter(image=name).exists()
        or CampaignUpdate.objects.filter(photo=name).exists()
    )
    kind = PHOTO_TYPES.get(name.rsplit(".", 1)[-1].lower())
    if not known or kind is None or not default_storage.exists(name):
        raise Http404("no such photo")
    with default_storage.open(name, "rb") as f:
        body = f.read()
    response = HttpResponse(body, content_type=kind)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "public, max-age=86400"
    return response
