"""The Django admin site: TOTP for admins and approvers, every change in the audit trail.

Every ModelAdmin registered here, Django's and third-party ones included, is given
`AuditedAdminMixin`, so an addition, change, deletion or action made through the admin is
appended to the audit trail whichever app registered the model.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from solidarity.apps.accounts.access import client_ip
from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.services import audit_record, user_is_verified, user_needs_otp


class LoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):  # type: ignore[misc]
    """Username, password and, for admins and approvers, the code from their TOTP device.

    Failed passwords count toward the lockout (django-axes hooks `authenticate`); failed
    codes slow the device down (django-otp's throttling).
    """

    otp_token = forms.CharField(
        required=False,
        label=_("Code from your authenticator app (admins and approvers)"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        self.cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and user_needs_otp(user):
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user: Any) -> Any:
        # One TOTP device per person (`totp_enrol` replaces the old one): no choice to make.
        chosen = super()._chosen_device(user)
        return chosen or TOTPDevice.objects.filter(user=user, confirmed=True).first()

    def _update_form(self, user: Any) -> None:
        """django-otp fills a device menu here; there is only one device, so nothing to do."""


def _target(obj: Any) -> str:
    meta = obj._meta
    return f"{meta.app_label}.{meta.model_name}:{obj.pk}"


class AuditedAdminMixin:
    """Appends each admin addition, change, deletion and action to the audit trail."""

    def _audit(
        self, request: HttpRequest, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        audit_record(
            via=AuditEvent.Via.ADMIN,
            user=request.user,
            action=action,
            target=target,
            detail=detail,
            ip=client_ip(request),
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        self._audit(request, "admin.add", _target(obj), {"object": str(obj)[:200]})
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        self._audit(
            request,
            "admin.change",
            _target(obj),
            {"object": str(obj)[:200], "changes": message if isinstance(message, list) else []},
        )
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        objects = list(queryset)
        entries = super().log_deletions(request, objects)  # type: ignore[misc]
        for obj in objects:
            self._audit(request, "admin.delete", _target(obj), {"object": str(obj)[:200]})
        return entries

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        name = request.POST.get("action", "")
        allowed = name in self.get_actions(request)  # type: ignore[attr-defined]
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        response = super().response_action(request, queryset)  # type: ignore[misc]
        # delete_selected records each deletion itself (log_deletions), after confirmation.
        if allowed and selected and name != "delete_selected":
            meta = self.model._meta  # type: ignore[attr-defined]
            self._audit(
                request,
                f"admin.action.{name}",
                f"{meta.app_label}.{meta.model_name}",
                {"ids": selected[:500]},
            )
        return response


class SolidarityAdminSite(admin.AdminSite):
    """Staff reach the admin; admins and approvers only with a TOTP-verified session."""

    site_header = "Solidarity"
    login_form = LoginForm
    login_template = "accounts/admin_login.html"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The login page; without a `next` address it leads to the back office's home
        (settings.LOGIN_REDIRECT_URL), not to the admin's index."""
        context = dict(extra_context or {})
        if "next" not in request.GET and "next" not in request.POST:
            context["next"] = settings.LOGIN_REDIRECT_URL
        return super().login(request, extra_context=context)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not super().has_permission(request):
            return False
        return not user_needs_otp(user) or user_is_verified(user)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(admin_class.__name__, (AuditedAdminMixin, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)
