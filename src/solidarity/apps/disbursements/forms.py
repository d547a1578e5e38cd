"""Back-office forms: they parse what a person typed; the services decide."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import Evidence
from solidarity.apps.disbursements.services import MAX_EVIDENCE_BYTES
from solidarity.core.money import MoneyError, money_parse
from solidarity.core.tranches import item_parse, item_parse_local


def _check_size(upload: Any) -> Any:
    if upload is not None and upload.size > MAX_EVIDENCE_BYTES:
        raise forms.ValidationError(
            _("The file is larger than %(limit)s bytes.") % {"limit": f"{MAX_EVIDENCE_BYTES:,}"}
        )
    return upload


class EvidenceForm(forms.Form):
    evidence = forms.FileField(label=_("Evidence file"), required=False)
    evidence_kind = forms.ChoiceField(
        label=_("Kind of evidence"), choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER
    )

    def clean_evidence(self) -> Any:
        return _check_size(self.cleaned_data.get("evidence"))


class HandoverForm(EvidenceForm):
    handed_over_on = forms.DateField(
        label=_("Date of the handover"),
        required=False,
        help_text=_("Leave empty if it is the date proposed."),
    )


class ProposeForm(EvidenceForm):
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("slug"),
        to_field_name="slug",
    )
    recipient = forms.CharField(label=_("Recipient organization"), max_length=200)
    amount = forms.CharField(
        label=_("Amount in the campaign's currency (0 for goods only)"), max_length=40
    )
    date = forms.DateField(label=_("Date of the handover"))
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea, required=False)
    rate = forms.CharField(label=_("Exchange rate"), max_length=40, required=False)
    rate_currency = forms.CharField(label=_("Other currency"), max_length=3, required=False)
    rate_source = forms.CharField(label=_("Source of the rate"), max_length=200, required=False)
    rate_date = forms.DateField(label=_("Date of the rate"), required=False)
    items = forms.CharField(
        label=_("Goods, one per line: NAME:QUANTITY:UNIT:VALUE PER UNIT"),
        widget=forms.Textarea,
        required=False,
    )

    def __init__(self, *args: Any, locale: str = "vi", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        campaign = data.get("campaign")
        if campaign is None:
            return data
        currency = campaign.currency
        try:
            data["amount_money"] = money_parse(data.get("amount", ""), currency, self.locale)
        except MoneyError as exc:
            self.add_error("amount", str(exc))
        lines = []
        for spec in (data.get("items") or "").splitlines():
            if spec.strip():
                try:
                    lines.append(item_parse(spec, currency))
                except MoneyError as exc:
                    self.add_error("items", str(exc))
        data["item_lines"] = lines
        if data.get("rate"):
            try:
                data["rate_value"] = Decimal(data["rate"].replace(",", "").replace(" ", ""))
            except InvalidOperation:
                self.add_error("rate", _("Not a number."))
            if not data.get("rate_currency") or not data.get("rate_source"):
                self.add_error("rate", _("A rate needs the other currency and its source."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class GoodsForm(forms.Form):
    """Goods received, as an accountant types them; numbers in the reader's language."""

    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("slug"),
        to_field_name="slug",
    )
    donor_kind = forms.ChoiceField(
        label=_("The donor is"),
        choices=(("organization", _("an organization")), ("person", _("a person"))),
        initial="organization",
    )
    donor = forms.CharField(label=_("Donor's name"), max_length=200, required=False)
    privacy = forms.ChoiceField(
        label=_("A person's name is published"),
        choices=(
            ("named", _("in full, as they chose")),
            ("masked", _("masked")),
            ("anonymous", _("not at all (anonymous)")),
        ),
        initial="masked",
        help_text=_("An organization's name is always published."),
    )
    received_on = forms.DateField(label=_("Date received"))
    items = forms.CharField(
        label=_("Goods, one per line: NAME:QUANTITY:UNIT:VALUE PER UNIT"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    note = forms.CharField(label=_("Note (not published)"), max_length=500, required=False)
    evidence = forms.FileField(label=_("Evidence file"), required=False)
    evidence_kind = forms.ChoiceField(
        label=_("Kind of evidence"),
        choices=(
            (Evidence.Kind.DELIVERY_NOTE, _("delivery note")),
            (Evidence.Kind.OTHER, _("other")),
        ),
        initial=Evidence.Kind.DELIVERY_NOTE,
        required=False,
    )

    def __init__(self, *args: Any, locale: str = "vi", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale

    def clean_evidence(self) -> Any:
        return _check_size(self.cleaned_data.get("evidence"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        campaign = data.get("campaign")
        if campaign is None:
            return data
        lines = []
        for spec in (data.get("items") or "").splitlines():
            if spec.strip():
                try:
                    lines.append(item_parse_local(spec, campaign.currency, self.locale))
                except MoneyError as exc:
                    self.add_error("items", str(exc))
        data["item_lines"] = lines
        return data


class GoodsImportForm(forms.Form):
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("slug"),
        to_field_name="slug",
    )
    file = forms.FileField(label=_("CSV file of goods received"))

    def clean_file(self) -> Any:
        return _check_size(self.cleaned_data.get("file"))
