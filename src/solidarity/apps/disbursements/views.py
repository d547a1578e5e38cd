"""Back office (/office/tranches/) and the public pages (/c/<slug>/tranches, report, files)."""

from __future__ import annotations

import io
from datetime import date

from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import APPROVER, AUDITOR
from solidarity.apps.accounts.services import user_has_role
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.selectors import campaign_public_get
from solidarity.apps.disbursements import services
from solidarity.apps.disbursements.forms import (
    EvidenceForm,
    HandoverForm,
    ProposeForm,
    ReasonForm,
)
from solidarity.apps.disbursements.models import Evidence, Tranche
from solidarity.apps.disbursements.reports import CONTENT_TYPES, report_filename, report_render
from solidarity.apps.disbursements.selectors import (
    BABEL_LOCALES,
    evidence_for,
    statement_build,
    tranche_detail,
    tranche_get,
    tranche_list,
    tranches_public,
)
from solidarity.apps.disbursements.services import EvidenceInput, TrancheRefused, evidence_read
from solidarity.core.statements import ANY_DATE

INLINE_TYPES = frozenset(services.SAFE_TYPES.values())
READ = (AUDITOR,)
"""Office roles beyond those that act on tranches (services.HANDOVER_ROLES): auditors read."""


def _language() -> str:
    lang = (translation.get_language() or "vi").lower()
    return lang if lang in BABEL_LOCALES else "vi"


def _public_campaign(slug: str) -> Campaign:
    try:
        return campaign_public_get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("no such campaign") from None


# --- public --------------------------------------------------------------------------------


@require_GET
def tranches_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _public_campaign(slug)
    return render(
        request,
        "disbursements/tranches.html",
        {"campaign": campaign, "where": tranches_public(campaign, _language())},
    )


@require_GET
def evidence_file(request: HttpRequest, slug: str, sha256: str) -> FileResponse:
    """A handed-over tranche's evidence. Only PDF, PNG and JPEG are shown inline."""
    campaign = _public_campaign(slug)
    evidence = evidence_for(campaign=campaign, sha256=sha256)
    data = evidence_read(sha256) if evidence is not None else None
    if evidence is None or data is None:
        raise Http404("no such file")
    inline = evidence.content_type in INLINE_TYPES
    response = FileResponse(
        io.BytesIO(data),
        as_attachment=not inline,
        filename=evidence.name,
        content_type=evidence.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@role_required(read=READ + services.HANDOVER_ROLES)
@require_GET
def office_evidence(request: HttpRequest, pk: int, sha256: str) -> FileResponse:
    """A tranche's evidence for the office, whatever the tranche's status; served like the
    public file (PDF, PNG and JPEG inline, anything else as a download)."""
    evidence = Evidence.objects.filter(tranche_id=pk, sha256=sha256).order_by("id").first()
    data = evidence_read(sha256) if evidence is not None else None
    if evidence is None or data is None:
        raise Http404("no such file")
    inline = evidence.content_type in INLINE_TYPES
    response = FileResponse(
        io.BytesIO(data),
        as_attachment=not inline,
        filename=evidence.name,
        content_type=evidence.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response


class _BadDay(ValueError):
    pass


def _day(text: str | None, default: date, field: str) -> date:
    """The day `text` names, within the dates records can hold (`ANY_DATE`); _BadDay with
    the reason otherwise."""
    if not text:
        return default
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise _BadDay(_("%(field)s: use a date like 2025-08-25.") % {"field": field})
    if ANY_DATE.problem(day) is not None:
        raise _BadDay(
            _("%(field)s: use a date between %(first)s and %(last)s.")
            % {
                "field": field,
                "first": ANY_DATE.not_before.isoformat(),
                "last": ANY_DATE.not_after.isoformat(),
            }
        )
    return day


@require_GET
def report_download(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    campaign = _public_campaign(slug)
    if fmt not in CONTENT_TYPES:
        raise Http404("unknown format")
    try:
        start = _day(request.GET.get("from"), campaign.opens_at.date(), _("From"))
        end = _day(request.GET.get("to"), timezone.localdate(), _("To"))
    except _BadDay as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if end < start:
        return HttpResponse(_("The end date is before the start date."), status=400)
    lang = request.GET.get("lang") or _language()
    if lang not in BABEL_LOCALES:
        lang = "vi"
    statement = statement_build(campaign=campaign, start=start, end=end)
    response = HttpResponse(report_render(statement, fmt, lang), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report_filename(statement, fmt)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- back office ---------------------------------------------------------------------------


@role_required(read=READ, write=services.HANDOVER_ROLES)
@require_GET
def office_list(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("campaign") or None
    campaign = Campaign.objects.filter(slug=slug).first() if slug else None
    status = request.GET.get("status") or ""
    if status not in Tranche.Status.values:
        status = ""
    rows = tranche_list(campaign=campaign, status=status or None)
    sort = request.GET.get("sort", "")
    if (field := TRANCHE_SORTS.get(sort.lstrip("-"))) is not None:
        rows = rows.order_by(f"-{field}" if sort.startswith("-") else field, "-id")
    return render(
        request,
        "disbursements/office_list.html",
        {
            "page": Paginator(rows, 50).get_page(request.GET.get("page")),
            "statuses": Tranche.Status.choices,
            "status": status,
            "campaigns": Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("slug"),
            "campaign": slug or "",
        },
    )


TRANCHE_SORTS = {"id": "id", "date": "date", "amount": "amount_minor"}


@role_required(read=services.PROPOSER_ROLES, write=services.PROPOSER_ROLES)
@require_http_methods(["GET", "POST"])
def office_propose(request: HttpRequest) -> HttpResponse:
    user = request.user
    locale = BABEL_LOCALES[_language()]
    form = ProposeForm(request.POST or None, request.FILES or None, locale=locale)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        money = data["amount_money"]
        upload = data.get("evidence")
        rate = None
        if data.get("rate_value") is not None:
            rate = services.RateInput(
                rate=data["rate_value"],
                base=data["rate_currency"].upper(),
                source=data["rate_source"],
                on=data.get("rate_date") or data["date"],
            )
        try:
            tranche = services.tranche_propose(
                campaign=data["campaign"],
                by=user,
                recipient=data["recipient"],
                amount_minor=money.minor,
                currency=money.currency,
                date=data["date"],
                purpose=data.get("purpose") or "",
                rate=rate,
                items=data["item_lines"],
                evidence=(
                    [EvidenceInput(upload.name, upload.read(), data["evidence_kind"])]
                    if upload
                    else []
                ),
            )
        except TrancheRefused as exc:
            errors = exc.errors
        else:
            return redirect("tranche-office-detail", pk=tranche.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "disbursements/office_propose.html",
        {"form": form, "errors": errors},
        status=status,
    )


def _detail(request: HttpRequest, tranche: Tranche, errors: list[str], status: int) -> HttpResponse:
    user = request.user
    return render(
        request,
        "disbursements/office_detail.html",
        {
            "tranche": tranche,
            "detail": tranche_detail(tranche),
            "errors": errors,
            "evidence_form": EvidenceForm(),
            "handover_form": HandoverForm(),
            "reason_form": ReasonForm(),
            "can_approve": user_has_role(user, APPROVER),  # type: ignore[arg-type]
            "can_handover": user_has_role(user, *services.HANDOVER_ROLES),  # type: ignore[arg-type]
        },
        status=status,
    )


def _tranche_or_404(pk: int) -> Tranche:
    try:
        return tranche_get(pk=pk)
    except Tranche.DoesNotExist:
        raise Http404("no such tranche") from None


@role_required(read=READ, write=services.HANDOVER_ROLES)
@require_GET
def office_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _tranche_or_404(pk), [], 200)


@role_required(write=services.HANDOVER_ROLES)
@require_POST
def office_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """approve, reject, cancel, handover, evidence: one service call each."""
    user = request.user
    tranche = _tranche_or_404(pk)
    reason = ReasonForm(request.POST)
    reason_text = reason.cleaned_data["reason"] if reason.is_valid() else ""
    files: list[EvidenceInput] = []
    handed_over_on = None
    if action in ("handover", "evidence"):
        form_class = HandoverForm if action == "handover" else EvidenceForm
        form = form_class(request.POST, request.FILES)
        if not form.is_valid():
            errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
            return _detail(request, tranche, errors, 400)
        upload = form.cleaned_data.get("evidence")
        handed_over_on = form.cleaned_data.get("handed_over_on")
        if upload:
            files.append(
                EvidenceInput(upload.name, upload.read(), form.cleaned_data["evidence_kind"])
            )
    try:
        if action == "approve":
            if not user_has_role(user, APPROVER):
                return _detail(
                    request, tranche, [_("Only a person with the approver role can approve.")], 403
                )
            services.tranche_approve(tranche=tranche, by=user, note=reason_text)
        elif action == "reject":
            services.tranche_reject(tranche=tranche, by=user, reason=reason_text)
        elif action == "cancel":
            services.tranche_cancel(tranche=tranche, by=user, reason=reason_text)
        elif action == "handover":
            services.tranche_handover(
                tranche=tranche,
                by=user,
                evidence=files,
                note=reason_text,
                handed_over_on=handed_over_on,
            )
        elif action == "evidence":
            services.evidence_add(tranche=tranche, by=user, files=files)
        else:
            raise Http404("no such action")
    except TrancheRefused as exc:
        return _detail(request, _tranche_or_404(pk), exc.errors, 400)
    return redirect("tranche-office-detail", pk=pk)
