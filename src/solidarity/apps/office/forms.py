"""Office forms: they parse what a person typed (in their language); the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from solidarity.apps.campaigns.models import LANGUAGES
from solidarity.core.money import Money, MoneyError, money_format_number, money_parse
from solidarity.core.tlog.cosignature import cosigner_parse
from solidarity.core.tlog.note import NoteError

DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
RESERVED_SLUGS = frozenset({"new", "close-due"})
"""Office addresses beside /office/campaigns/<slug>/."""
CURRENCIES = (("VND", "VND"), ("USD", "USD"), ("EUR", "EUR"))
LANGUAGE_NAMES = {
    "vi": _("Vietnamese"),
    "en": _("English"),
    "es": _("Spanish"),
    "pt-br": _("Portuguese"),
}


def _key(language: str) -> str:
    return language.replace("-", "_")


class CampaignForm(forms.Form):
    """A campaign's settings; `slug` and `currency` only when it is created."""

    slug = forms.SlugField(label=_("Address name (slug)"), max_length=64)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="VND")
    code = forms.CharField(label=_("Memo code donors write"), max_length=32)
    keywords = forms.CharField(
        label=_("Other memo keywords, comma separated"), max_length=500, required=False
    )
    beneficiary = forms.CharField(label=_("Beneficiary"), max_length=200, required=False)
    goal = forms.CharField(label=_("Goal"), max_length=40)
    min_gift = forms.CharField(label=_("Smallest gift accepted"), max_length=40, required=False)
    max_gift = forms.CharField(label=_("Largest gift accepted"), max_length=40, required=False)
    opens_at = forms.DateTimeField(
        label=_("Opens (Vietnam time, dd/mm/yyyy hh:mm)"), input_formats=DATETIME_FORMATS
    )
    days = forms.IntegerField(label=_("Open for how many days"), min_value=1, max_value=3650)
    approvals_required = forms.IntegerField(
        label=_("Approvals needed for a tranche"), min_value=1, max_value=9, initial=2
    )

    def __init__(self, *args: Any, locale: str = "vi", creating: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.locale = locale
        self.currency_fixed: str | None = None
        for lang in LANGUAGES:
            name = LANGUAGE_NAMES[lang]
            self.fields[f"name_{_key(lang)}"] = forms.CharField(
                label=_("Name in %(language)s") % {"language": name},
                max_length=200,
                required=False,
            )
            self.fields[f"story_{_key(lang)}"] = forms.CharField(
                label=_("Story in %(language)s (Markdown)") % {"language": name},
                widget=forms.Textarea(attrs={"rows": 6}),
                max_length=20000,
                required=False,
            )
        if not creating:
            del self.fields["slug"]
            del self.fields["currency"]

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"]).lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(_("This address name is reserved; choose another."))
        return slug

    def names(self) -> dict[str, str]:
        return {lang: self.cleaned_data.get(f"name_{_key(lang)}", "") for lang in LANGUAGES}

    def stories(self) -> dict[str, str]:
        return {lang: self.cleaned_data.get(f"story_{_key(lang)}", "") for lang in LANGUAGES}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = self.currency_fixed or data.get("currency")
        if not currency:
            return data
        for field in ("goal", "min_gift", "max_gift"):
            text = (data.get(field) or "").strip()
            if not text:
                data[f"{field}_minor"] = None
                continue
            try:
                data[f"{field}_minor"] = money_parse(text, currency, self.locale).minor
            except MoneyError:
                self.add_error(
                    field,
                    _("Write an amount in %(currency)s, e.g. 150.000") % {"currency": currency},
                )
        if not any((data.get(f"name_{_key(lang)}") or "").strip() for lang in LANGUAGES):
            self.add_error(None, _("Give the campaign a name in at least one language."))
        return data

    @staticmethod
    def initial_for(campaign: Any, locale: str) -> dict[str, Any]:
        def major(minor: int | None) -> str:
            if minor is None:
                return ""
            return money_format_number(Money(minor, campaign.currency), locale)

        initial: dict[str, Any] = {
            "code": campaign.code,
            "keywords": ", ".join(campaign.keywords),
            "beneficiary": campaign.beneficiary,
            "goal": major(campaign.goal_minor),
            "min_gift": major(campaign.min_gift_minor),
            "max_gift": major(campaign.max_gift_minor),
            "opens_at": campaign.opens_at,
            "days": campaign.days,
            "approvals_required": campaign.approvals_required,
        }
        for lang in LANGUAGES:
            initial[f"name_{_key(lang)}"] = campaign.names.get(lang, "")
            initial[f"story_{_key(lang)}"] = campaign.descriptions.get(lang, "")
        return initial


class AccountForm(forms.Form):
    bin = forms.RegexField(label=_("Bank BIN (6 digits)"), regex=r"^\d{6}$", max_length=6)
    number = forms.RegexField(label=_("Account number"), regex=r"^\d{1,19}$", max_length=19)
    holder = forms.CharField(label=_("Account holder"), max_length=120, required=False)


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo (JPEG, PNG or WebP)"))
    caption = forms.CharField(label=_("Caption"), max_length=200, required=False)


class UpdateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(label=_("Text (Markdown)"), widget=forms.Textarea(attrs={"rows": 6}))
    photo = forms.FileField(label=_("Photo (JPEG, PNG or WebP)"), required=False)
    tranche = forms.TypedChoiceField(
        label=_("About the tranche"), coerce=int, required=False, empty_value=None
    )


class WitnessForm(forms.Form):
    """A witness to add: its verifier key (as `solidarity witness init` prints it) and URL."""

    vkey = forms.CharField(
        label=_("Verifier key of the witness"),
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80, "spellcheck": "false", "autocomplete": "off"}),
    )
    url = forms.URLField(
        label=_("Address of the witness (http or https)"),
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
    )

    def clean_vkey(self) -> str:
        text = str(self.cleaned_data["vkey"]).strip()
        try:
            return cosigner_parse(text).vkey
        except NoteError:
            raise forms.ValidationError(
                _(
                    "This is not the verifier key of a witness: it reads name+hash+key, the key "
                    "being a witness's Ed25519 key (type 0x04), as the last line `solidarity "
                    "witness init` prints."
                )
            ) from None


class QuorumForm(forms.Form):
    quorum = forms.IntegerField(
        label=_("Cosignatures a checkpoint needs"), min_value=0, max_value=99
    )
