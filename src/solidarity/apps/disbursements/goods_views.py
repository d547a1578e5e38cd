"""The back office's goods page (/office/goods/): goods received, recorded one by one or from
a CSV file, and their evidence files. One service call per request."""

from __future__ import annotations

import io
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR
from solidarity.apps.accounts.services import user_has_role
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.forms import GoodsForm, GoodsImportForm
from solidarity.apps.disbursements.models import Evidence
from solidarity.apps.disbursements.selectors import (
    BABEL_LOCALES,
    in_kind_gift_list,
    in_kind_goods_office,
)
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    GoodsImportRefused,
    TrancheRefused,
    evidence_read,
    in_kind_gift_record,
    in_kind_gifts_import,
)
from solidarity.core.tranches import goods_csv_parse

READ_ROLES = (APPROVER, AUDITOR)
RECORD_ROLES = (ACCOUNTANT, ADMIN)
LIST_LIMIT = 500


def _locale() -> str:
    lang = (translation.get_language() or "vi").lower()
    return BABEL_LOCALES.get(lang, "vi")


def _page(
    request: HttpRequest,
    *,
    form: GoodsForm | None = None,
    import_form: GoodsImportForm | None = None,
    errors: list[str] | None = None,
    located: list[Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    slug = request.GET.get("campaign") or None
    campaign = Campaign.objects.filter(slug=slug).first() if slug else None
    can_record = user_has_role(request.user, *RECORD_ROLES)  # type: ignore[arg-type]
    gifts = in_kind_gift_list(campaign=campaign)[:LIST_LIMIT]
    return render(
        request,
        "disbursements/office_goods.html",
        {
            "rows": in_kind_goods_office(gifts, _locale()),
            "can_record": can_record,
            "form": form or GoodsForm(locale=_locale()),
            "import_form": import_form or GoodsImportForm(),
            "errors": errors or [],
            "located": located or [],
        },
        status=status,
    )


@role_required(read=READ_ROLES, write=RECORD_ROLES)
def office_goods(request: HttpRequest) -> HttpResponse:
    """GET: goods received and the form; POST: record one gift of goods."""
    if request.method != "POST":
        return _page(request)
    form = GoodsForm(request.POST, request.FILES, locale=_locale())
    if not form.is_valid():
        return _page(request, form=form, status=400)
    data = form.cleaned_data
    upload = data.get("evidence")
    try:
        in_kind_gift_record(
            campaign=data["campaign"],
            by=request.user,  # type: ignore[arg-type]
            donor=data.get("donor") or "",
            donor_kind=data["donor_kind"],
            privacy=data["privacy"],
            received_on=data["received_on"],
            items=data["item_lines"],
            note=data.get("note") or "",
            evidence=(
                [
                    EvidenceInput(
                        upload.name,
                        upload.read(),
                        data.get("evidence_kind") or Evidence.Kind.DELIVERY_NOTE,
                    )
                ]
                if upload
                else []
            ),
        )
    except TrancheRefused as exc:
        return _page(request, form=form, errors=exc.errors, status=400)
    return redirect("goods-office")


@role_required(write=RECORD_ROLES)
@require_POST
def office_goods_import(request: HttpRequest) -> HttpResponse:
    """A CSV file of goods received: all of it is recorded, or nothing and every error."""
    form = GoodsImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form, status=400)
    campaign = form.cleaned_data["campaign"]
    upload = form.cleaned_data["file"]
    name = upload.name or "goods.csv"
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _page(
            request,
            import_form=form,
            errors=[_("%(name)s is not UTF-8 text.") % {"name": name}],
            status=400,
        )
    gifts, located = goods_csv_parse(text, file=name, currency=campaign.currency, locale=_locale())
    if not located:
        try:
            # files named in the evidence column are not uploaded with the CSV here
            in_kind_gifts_import(campaign=campaign, by=request.user, file=name, gifts=gifts)  # type: ignore[arg-type]
        except GoodsImportRefused as exc:
            located = exc.located
    if located:
        return _page(request, import_form=form, located=located, status=400)
    return redirect("goods-office")


@role_required(read=(*READ_ROLES, *RECORD_ROLES))
@require_GET
def office_goods_evidence(request: HttpRequest, pk: int, sha256: str) -> FileResponse:
    """An evidence file of goods received, for people with a back-office role."""
    evidence = Evidence.objects.filter(gift_id=pk, sha256=sha256).first()
    data = evidence_read(sha256) if evidence is not None else None
    if evidence is None or data is None:
        raise Http404("no such file")
    inline = evidence.content_type != "application/octet-stream"
    response = FileResponse(
        io.BytesIO(data),
        as_attachment=not inline,
        filename=evidence.name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
