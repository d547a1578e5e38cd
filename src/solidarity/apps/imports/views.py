"""Back office: statement upload (/office/imports/) and the review queue (/office/review/).

Accountants and admins import and decide; auditors read; login required (`role_required`);
CSRF-protected forms. Each view parses the
request, calls one service or selector and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, AUDITOR
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.imports.jobs import import_job_create
from solidarity.apps.imports.models import Import, PendingReversal, ReviewItem
from solidarity.apps.imports.selectors import (
    import_get,
    imports_recent,
    pending_returns,
    review_items,
)
from solidarity.apps.imports.services import (
    AccountRef,
    ReviewRefused,
    pending_reversal_post,
    review_assign,
    review_reject,
)

MAX_UPLOAD_BYTES = int(getattr(settings, "SOLIDARITY_IMPORT_MAX_BYTES", 50 * 2**20))
"""Largest statement the upload page takes; bigger files go through `solidarity import`."""

WAITING = (Import.Status.QUEUED, Import.Status.RUNNING)


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
    context["imports"] = imports_recent()
    context["waiting"] = any(i.status in WAITING for i in context["imports"])
    return render(request, "imports/imports.html", context, status=status)


def _upload(request: HttpRequest) -> tuple[Any, list[str], int]:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 65536:
        return None, [f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB"], 413
    upload = request.FILES.get("file")
    if upload is None:
        return None, ["choose a statement file"], 400
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        return None, [f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB"], 413
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
            errors.append(f"no campaign {slug[:50]!r}")
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


@role_required(read=READ, write=WRITE)
@require_http_methods(["GET"])
def review_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in ("open", "assigned", "rejected", "all"):
        status = "open"
    items = review_items(status=status, limit=200)
    accounts = {(i["account"]) for i in items}
    choices: dict[str, list[str]] = {}
    for account in accounts:
        bin_, _, number = account.partition(":")
        choices[account] = list(
            Campaign.objects.filter(
                accounts__bin=bin_, accounts__number=number, status=Campaign.Status.OPEN
            )
            .order_by("slug")
            .values_list("slug", flat=True)
        )
    for item in items:
        item["choices"] = choices.get(item["account"], [])
    return render(
        request,
        "imports/review.html",
        {
            "items": items,
            "returns": pending_returns(status="open", limit=200),
            "status": status,
            "message": request.GET.get("done", ""),
            "posted": request.GET.get("posted", ""),
        },
    )


@role_required(write=WRITE)
@require_POST
def pending_return_post(request: HttpRequest, pk: int) -> HttpResponse:
    pending = PendingReversal.objects.filter(pk=pk).first()
    errors: list[str] = []
    if pending is None:
        errors.append(f"no returned transfer {pk}")
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
    return render(
        request,
        "imports/review.html",
        {
            "items": review_items(status="open"),
            "returns": pending_returns(status="open"),
            "status": "open",
            "errors": errors,
        },
        status=400,
    )


@role_required(write=WRITE)
@require_POST
def review_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    item = ReviewItem.objects.filter(pk=pk).first()
    errors: list[str] = []
    if item is None:
        errors.append(f"no review item {pk}")
    else:
        try:
            if action == "assign":
                campaign = Campaign.objects.filter(slug=request.POST.get("campaign", "")).first()
                if campaign is None:
                    raise ReviewRefused(["choose a campaign"])
                review_assign(item=item, campaign=campaign, by=request.user)  # type: ignore[arg-type]
            elif action == "reject":
                review_reject(
                    item=item,
                    by=request.user,  # type: ignore[arg-type]
                    reason=request.POST.get("reason", ""),
                )
            else:
                errors.append(f"unknown action {action!r}")
        except ValueError as exc:
            errors.extend(getattr(exc, "errors", [str(exc)]))
    if errors:
        return _review_errors(request, errors)
    return redirect(f"{reverse('review-office')}?done={pk}")
