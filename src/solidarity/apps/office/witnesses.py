"""The back-office page of a campaign's witnesses: list them with what they last cosigned and
when they last answered, add one, remove one, set the quorum.

Every change goes through the witness services of the transparency app, the same the CLI
(`solidarity campaign witness ...`) calls, so it is announced in the campaign's log; the
office's permission check appends it to the audit trail. Admins change; every office role reads.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from solidarity.apps.accounts.access import role_required
from solidarity.apps.accounts.roles import ADMIN
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.office.forms import QuorumForm, WitnessForm
from solidarity.apps.office.views import STAFF, _campaign, _form_errors
from solidarity.apps.transparency.witnesses import (
    WitnessConfigError,
    log_witness_add,
    log_witness_quorum_set,
    log_witness_remove,
    log_witness_summary,
)

ACTIONS = ("add", "remove", "quorum")


def _page(
    request: HttpRequest,
    campaign: Campaign,
    *,
    errors: list[str],
    status: int = 200,
    witness_form: WitnessForm | None = None,
    quorum_form: QuorumForm | None = None,
) -> HttpResponse:
    summary = log_witness_summary(campaign)
    return render(
        request,
        "office/witnesses.html",
        {
            "campaign": campaign,
            "summary": summary,
            "witness_form": witness_form or WitnessForm(),
            "quorum_form": quorum_form or QuorumForm(initial={"quorum": summary["quorum"]}),
            "errors": errors,
            "done": request.GET.get("done", ""),
        },
        status=status,
    )


@role_required(read=STAFF, write=(ADMIN,))
@require_http_methods(["GET"])
def campaign_witnesses(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _campaign(slug), errors=[])


@role_required(write=(ADMIN,))
@require_POST
def campaign_witness_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """add, remove, quorum: one witness service call each."""
    campaign = _campaign(slug)
    if action not in ACTIONS:
        raise Http404
    witness_form = WitnessForm(request.POST) if action == "add" else None
    quorum_form = QuorumForm(request.POST) if action == "quorum" else None
    errors: list[str] = []
    try:
        if witness_form is not None:
            if not witness_form.is_valid():
                errors = _form_errors(witness_form)
            else:
                log_witness_add(
                    campaign=campaign,
                    vkey=witness_form.cleaned_data["vkey"],
                    url=witness_form.cleaned_data["url"],
                )
        elif quorum_form is not None:
            if not quorum_form.is_valid():
                errors = _form_errors(quorum_form)
            else:
                log_witness_quorum_set(campaign=campaign, quorum=quorum_form.cleaned_data["quorum"])
        else:
            log_witness_remove(campaign=campaign, name=str(request.POST.get("name", "")))
    except WitnessConfigError as exc:
        errors = list(exc.errors)
    if errors:
        return _page(
            request,
            campaign,
            errors=errors,
            status=400,
            witness_form=witness_form,
            quorum_form=quorum_form,
        )
    return redirect(f"{reverse('office-campaign-witnesses', args=[slug])}?done={action}")
