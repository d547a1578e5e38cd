"""Admin: partners (admins manage them; other roles read). Partner keys are created and
revoked here by admins, or with `solidarity partners`; a new key is shown once, in the
confirmation message."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from solidarity.apps.accounts.roles import ADMIN
from solidarity.apps.accounts.services import user_has_role
from solidarity.apps.partners.models import ApiKey, Partner
from solidarity.apps.partners.services import api_key_create, partner_revoke


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    readonly_fields = ("prefix", "created_at", "revoked_at")
    exclude = ("digest",)
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "scopes", "rate_per_minute", "active", "created_at")
    inlines = (ApiKeyInline,)
    actions = ("create_key", "revoke")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its gifts and intents name it; revoke it instead

    def has_keys_permission(self, request: HttpRequest) -> bool:
        """Minting and revoking partner keys: admins only."""
        return user_has_role(request.user, ADMIN)

    @admin.action(description="Create an API key (shown once)", permissions=["keys"])
    def create_key(self, request: HttpRequest, queryset: Any) -> None:
        for partner in queryset:
            key = api_key_create(partner=partner)
            self.message_user(
                request, f"{partner.name}: {key} (copy it now; it is not stored)", messages.WARNING
            )

    @admin.action(description="Revoke the partner and its keys", permissions=["keys"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for partner in queryset:
            partner_revoke(partner=partner)
