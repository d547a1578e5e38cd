"""Back office: statement upload (/office/imports/) and the review queue (/office/review/).

Accountants and admins import and decide; auditors read; login required (`role_required`);
CSRF-protected forms. Each view parses the
request, calls one service or selector and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, AUDITOR
from solidarity.apps.banking.accounts import AccountRef
from solidarity.apps.banking.models import PendingReversal, ReviewItem
from solidarity.apps.banking.review import (
    ReviewRefused,
    pending_reversal_post,
    review_assign,
    review_reject,
)
from solidarity.apps.banking.selectors import pending_returns, review_items
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.imports.jobs import import_job_create
from solidarity.apps.imports.models import Import
from solidarity.apps.imports.selectors import import_get, imports_query

MAX_UPLOAD_BYTES = int(getattr(settings, "SOLIDARITY_IMPORT_MAX_BYTES", 50 * 2**20))
"""Largest statement the upload page takes; bigger files go through `solidarity import`."""

WAITING = (Import.Status.QUEUED, Import.Status.RUNNING)


REVIEW_LIMIT = 20_000
"""At most this many review items are listed (sorted and paged); filter to see others."""

READ = (AUDITOR,)
WRITE = (ACCOUNTANT, ADMIN)


@role_required(read=READ, write=WRITE)
@require_http_methods(["GET", "POST"])
def imports_page(request: HttpRequest) -> HttpResponse:
    """The upload form, the job just uploaded (`?job=N`) with its progress or result, and
    the recent imports. A POST stores the file and queues it (`import_job_create`); the
    import worker parses and books it, never this web worker."""
    context: dict[str, Any] = {"max_mb": MAX_UPLOAD_BYTES // 2**20, "errors": []}
    status = 200
    if request.method == "POST":
        job, errors, status = _upload(request)
        if job is not None:
            response = redirect(f"{reverse('imports-office')}?job={job.pk}")
            response.status_code = 303  # See Other: the page of the queued job, by GET
            return response
        context["errors"] = errors
    elif (raw := request.GET.get("job", "")).isascii() and raw.isdigit() and len(raw) < 19:
        context["job"] = import_get(pk=int(raw))
    context["campaigns"] = Campaign.objects.order_by("slug")
    wanted = request.GET.get("status", "")
    context["status"] = wanted if wanted in Import.Status.values else ""
    context["statuses"] = Import.Status.choices
    rows = imports_query(status=context["status"] or None)
    sort = request.GET.get("sort", "") or "-id"
    field = IMPORT_SORTS.get(sort.lstrip("-"), "id")
    rows = rows.order_by(f"-{field}" if sort.startswith("-") else field, "-id")
    context["page"] = page = Paginator(rows, 50).get_page(request.GET.get("page"))
    job = context.get("job")
    context["waiting"] = (job is not None and job.status in WAITING) or any(
        i.status in WAITING for i in page
    )
    return render(request, "imports/imports.html", context, status=status)


IMPORT_SORTS = {"id": "id", "file": "file_name", "when": "started_at", "rows": "rows_read"}


def _too_large() -> str:
    return _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // 2**20}


def _upload(request: HttpRequest) -> tuple[Any, list[str], int]:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 65536:
        return None, [_too_large()], 413
    upload = request.FILES.get("file")
    if upload is None:
        return None, [_("Choose a statement file.")], 400
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        return None, [_too_large()], 413
    errors = []
    account = None
    if text := request.POST.get("account", "").strip():
        try:
            account = AccountRef.parse(text)
        except ValueError as exc:
            errors.append(str(exc))
    campaign = None
    if slug := request.POST.get("campaign", "").strip():
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            errors.append(_("There is no campaign %(slug)s.") % {"slug": slug[:50]})
    if errors:
        return None, errors, 400
    job = import_job_create(
        stream=upload,
        name=Path(upload.name or "statement").name,
        account=account,
        campaign=campaign,
        dry_run=bool(request.POST.get("dry_run")),
        by=request.user,  # type: ignore[arg-type]
    )
    return job, [], 303


REVIEW_SORTS = {
    "booked": lambda i: (i["booked_at"], i["id"]),
    "amount": lambda i: (i["amount_minor"], i["id"]),
    "id": lambda i: i["id"],
}


@role_required(read=READ, write=WRITE)
@require_http_methods(["GET"])
def review_page(request: HttpRequest) -> HttpResponse:
    return render(request, "imports/review.html", _review_context(request))


def _review_context(request: HttpRequest) -> dict[str, Any]:
    """The queue as the reader asked for it: status and campaign filters, sorting, a page."""
    status = request.GET.get("status", "open")
    if status not in ("open", "assigned", "rejected", "all"):
        status = "open"
    campaign_slug = request.GET.get("campaign", "") or None
    items = review_items(status=status, campaign_slug=campaign_slug, limit=REVIEW_LIMIT)
    sort = request.GET.get("sort", "booked")
    key = REVIEW_SORTS.get(sort.lstrip("-"), REVIEW_SORTS["booked"])
    items.sort(key=key, reverse=sort.startswith("-"))  # type: ignore[arg-type]
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    names = {c.slug: c.name for c in Campaign.objects.all()}
    choices: dict[str, list[tuple[str, str]]] = {}
    for item in page:
        account = item["account"]
        if account not in choices:
            bin_, _sep, number = account.partition(":")
            choices[account] = [
                (slug, names.get(slug, slug))
                for slug in Campaign.objects.filter(
                    accounts__bin=bin_, accounts__number=number, status=Campaign.Status.OPEN
                )
                .order_by("slug")
                .values_list("slug", flat=True)
                .distinct()
            ]
        item["choices"] = choices[account]
        # Preselect only a single candidate; several candidates are the question asked.
        item["preselect"] = item["candidates"][0] if len(item["candidates"]) == 1 else ""
        item["candidate_names"] = [names.get(s, s) for s in item["candidates"]]
        item["campaign_name"] = names.get(item["campaign"] or "", item["campaign"])
        item["status_label"] = ReviewItem.Status(item["status"]).label
    return {
        "items": page,
        "page": page,
        "campaigns": sorted(names.items(), key=lambda kv: kv[1]),
        "campaign": campaign_slug or "",
        "returns": pending_returns(status="open", limit=200),
        "status": status,
        "statuses": [
            ("open", ReviewItem.Status.OPEN.label),
            ("assigned", ReviewItem.Status.ASSIGNED.label),
            ("rejected", ReviewItem.Status.REJECTED.label),
        ],
        "message": request.GET.get("done", ""),
        "posted": request.GET.get("posted", ""),
    }


@role_required(write=WRITE)
@require_POST
def pending_return_post(request: HttpRequest, pk: int) -> HttpResponse:
    pending = PendingReversal.objects.filter(pk=pk).first()
    errors: list[str] = []
    if pending is None:
        errors.append(_("There is no returned transfer %(n)s.") % {"n": pk})
    else:
        try:
            pending_reversal_post(
                pending=pending,
                by=request.user,  # type: ignore[arg-type]
                reason=request.POST.get("reason", ""),
            )
        except ReviewRefused as exc:
            errors.extend(exc.errors)
    if errors:
        return _review_errors(request, errors)
    return redirect(f"{reverse('review-office')}?posted={pk}")


def _review_errors(request: HttpRequest, errors: list[str]) -> HttpResponse:
    context = _review_context(request)
    context["errors"] = errors
    return render(request, "imports/review.html", context, status=400)


@role_required(write=WRITE)
@require_POST
def review_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    item = ReviewItem.objects.filter(pk=pk).first()
    errors: list[str] = []
    if item is None:
        errors.append(_("There is no review item %(n)s.") % {"n": pk})
    else:
        try:
            if action == "assign":
                campaign = Campaign.objects.filter(slug=request.POST.get("campaign", "")).first()
                if campaign is None:
                    raise ReviewRefused([_("Choose a campaign.")])
                review_assign(item=item, campaign=campaign, by=request.user)  # type: ignore[arg-type]
            elif action == "reject":
                review_reject(
                    item=item,
                    by=request.user,  # type: ignore[arg-type]
                    reason=request.POST.get("reason", ""),
                )
            else:
                errors.append(_("Unknown action %(action)s.") % {"action": action})
        except ValueError as exc:
            errors.extend(getattr(exc, "errors", [str(exc)]))
    if errors:
        return _review_errors(request, errors)
    return redirect(f"{reverse('review-office')}?done={pk}")
