"""The back office: its home page per role and the campaign pages.

Every view is wrapped in `role_required`; each parses the request, calls one service or
selector and renders. Campaign settings are changed by admins only; every office role reads.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR
from solidarity.apps.accounts.services import user_roles
from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.apps.campaigns.services import (
    AccountInput,
    CampaignError,
    campaign_close,
    campaign_edit,
    campaign_open,
    campaign_photo_add,
    campaigns_close_due,
)
from solidarity.apps.disbursements.models import Tranche
from solidarity.apps.office.forms import AccountForm, CampaignForm, PhotoForm, UpdateForm
from solidarity.apps.office.selectors import office_waiting
from solidarity.apps.transparency.announcements import (
    campaign_create,
    campaign_update_publish,
    receiving_account_add,
    receiving_account_retire,
)
from solidarity.core.money import LANGUAGE_LOCALES

STAFF = (ADMIN, ACCOUNTANT, APPROVER, AUDITOR)
PAGE_SIZE = 50


def _locale() -> str:
    return LANGUAGE_LOCALES.get((translation.get_language() or "vi").lower(), "vi")


def paginate(request: HttpRequest, rows: Any, size: int = PAGE_SIZE) -> Page:
    """The requested page of `rows` (a queryset or list); a bad number gives the nearest."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def sorted_by(request: HttpRequest, rows: QuerySet[Any], allowed: dict[str, str], default: str):
    """`rows` ordered by the `sort` parameter (a key of `allowed`, "-" for descending)."""
    wanted = request.GET.get("sort", "") or default
    key = wanted.lstrip("-")
    if key not in allowed:
        wanted, key = default, default.lstrip("-")
    field = allowed[key]
    return rows.order_by(f"-{field}" if wanted.startswith("-") else field, "pk")


@role_required(read=STAFF)
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    return render(request, "office/home.html", {"waiting": office_waiting(roles=roles)})


# --- campaigns -----------------------------------------------------------------------------

CAMPAIGN_SORTS = {"opens": "opens_at", "slug": "slug", "status": "status", "goal": "goal_minor"}


@role_required(read=STAFF, write=(ADMIN,))
@require_http_methods(["GET"])
def campaigns(request: HttpRequest) -> HttpResponse:
    rows = Campaign.objects.all()
    status = request.GET.get("status", "")
    if status in Campaign.Status.values:
        rows = rows.filter(status=status)
    if q := request.GET.get("q", "").strip():
        rows = rows.filter(Q(slug__icontains=q) | Q(code__icontains=q) | Q(names__icontains=q))
    rows = sorted_by(request, rows, CAMPAIGN_SORTS, "-opens")
    return render(
        request,
        "office/campaigns.html",
        {
            "page": paginate(request, rows),
            "statuses": Campaign.Status.choices,
            "status": status,
            "q": q,
        },
    )


@role_required(write=(ADMIN,))
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, locale=_locale())
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_create(
                slug=data["slug"],
                code=data["code"],
                names=form.names(),
                descriptions=form.stories(),
                keywords=data["keywords"].split(","),
                beneficiary=data["beneficiary"],
                goal_minor=data["goal_minor"] or 0,
                currency=data["currency"],
                opens_at=data["opens_at"],
                days=data["days"],
                min_gift_minor=data["min_gift_minor"],
                max_gift_minor=data["max_gift_minor"],
                approvals_required=data["approvals_required"],
            )
        except CampaignError as exc:
            errors = list(exc.errors)
        else:
            return redirect("office-campaign", slug=campaign.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "office/campaign_form.html", {"form": form, "errors": errors}, status=status
    )


def _campaign(slug: str) -> Campaign:
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        raise Http404
    return campaign


def _detail(
    request: HttpRequest, campaign: Campaign, errors: list[str], status: int
) -> HttpResponse:
    update_form = UpdateForm()
    update_form.fields["tranche"].choices = _tranche_choices(campaign)
    return render(
        request,
        "office/campaign.html",
        {
            "campaign": campaign,
            "accounts": campaign.accounts.all(),
            "photos": campaign.photos.all(),
            "updates": campaign.updates.all()[:50],
            "account_form": AccountForm(),
            "photo_form": PhotoForm(),
            "update_form": update_form,
            "errors": errors,
            "done": request.GET.get("done", ""),
        },
        status=status,
    )


def _tranche_choices(campaign: Campaign) -> list[tuple[Any, str]]:
    rows = Tranche.objects.filter(campaign=campaign).order_by("id").values_list("id", "recipient")
    return [("", "—"), *((pk, f"#{pk} · {recipient}") for pk, recipient in rows)]


@role_required(read=STAFF, write=(ADMIN,))
@require_http_methods(["GET"])
def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _detail(request, _campaign(slug), [], 200)


@role_required(write=(ADMIN,))
@require_http_methods(["GET", "POST"])
def campaign_edit_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    locale = _locale()
    form = CampaignForm(
        request.POST or None,
        locale=locale,
        creating=False,
        initial=CampaignForm.initial_for(campaign, locale),
    )
    form.currency_fixed = campaign.currency
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign_edit(
                campaign=campaign,
                code=data["code"],
                names=form.names(),
                descriptions=form.stories(),
                keywords=data["keywords"].split(","),
                beneficiary=data["beneficiary"],
                goal_minor=data["goal_minor"] or 0,
                opens_at=data["opens_at"],
                days=data["days"],
                min_gift_minor=data["min_gift_minor"],
                max_gift_minor=data["max_gift_minor"],
                approvals_required=data["approvals_required"],
            )
        except CampaignError as exc:
            errors = list(exc.errors)
        else:
            return redirect(f"{reverse('office-campaign', args=[slug])}?done=saved")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "office/campaign_form.html",
        {"form": form, "errors": errors, "campaign": campaign},
        status=status,
    )


@role_required(write=(ADMIN,))
@require_POST
def campaign_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """open, close, account, retire, photo, update: one service call each."""
    campaign = _campaign(slug)
    errors: list[str] = []
    try:
        if action == "open":
            campaign_open(campaign=campaign)
        elif action == "close":
            campaign_close(campaign=campaign)
        elif action == "account":
            errors = _account_add(request, campaign)
        elif action == "retire":
            account = ReceivingAccount.objects.filter(
                campaign=campaign, pk=_int(request.POST.get("account"))
            ).first()
            if account is None:
                errors = [str(_msg_no_account())]
            else:
                receiving_account_retire(account=account)
        elif action == "photo":
            form = PhotoForm(request.POST, request.FILES)
            if not form.is_valid():
                errors = _form_errors(form)
            else:
                upload = form.cleaned_data["photo"]
                campaign_photo_add(
                    campaign=campaign,
                    name=upload.name or "photo",
                    content=upload.read(),
                    caption=form.cleaned_data["caption"],
                )
        elif action == "update":
            errors = _update_publish(request, campaign)
        else:
            raise Http404
    except CampaignError as exc:
        errors = list(exc.errors)
    if errors:
        campaign.refresh_from_db()
        return _detail(request, campaign, errors, 400)
    return redirect(f"{reverse('office-campaign', args=[slug])}?done={action}")


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _msg_no_account() -> str:
    return gettext("Choose one of the campaign's accounts.")


def _form_errors(form: Any) -> list[str]:
    return [
        f"{form.fields[f].label if f in form.fields else ''}: {e}".lstrip(": ")
        for f, es in form.errors.items()
        for e in es
    ]


def _account_add(request: HttpRequest, campaign: Campaign) -> list[str]:
    form = AccountForm(request.POST)
    if not form.is_valid():
        return _form_errors(form)
    data = form.cleaned_data
    receiving_account_add(
        campaign=campaign, account=AccountInput(data["bin"], data["number"], data["holder"])
    )
    return []


def _update_publish(request: HttpRequest, campaign: Campaign) -> list[str]:
    form = UpdateForm(request.POST, request.FILES)
    form.fields["tranche"].choices = _tranche_choices(campaign)
    if not form.is_valid():
        return _form_errors(form)
    data = form.cleaned_data
    upload = data.get("photo")
    campaign_update_publish(
        campaign=campaign,
        title=data["title"],
        text=data["text"],
        by=request.user.get_username(),
        photo=(upload.name or "photo", upload.read()) if upload else None,
        tranche_id=data.get("tranche"),
    )
    return []


@role_required(write=(ADMIN,))
@require_POST
def campaigns_close_due_view(request: HttpRequest) -> HttpResponse:
    closed = campaigns_close_due()
    return redirect(f"{reverse('office-campaigns')}?closed={len(closed)}")
