"""Admin: feeds and partners (admins manage them; other roles read), notifications (read
only, for everyone). Partner keys are created and revoked here by admins, or with
`solidarity partners`; a new key is shown once, in the confirmation message."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from solidarity.apps.accounts.roles import ADMIN
from solidarity.apps.accounts.services import user_has_role
from solidarity.apps.feeds.models import ApiKey, Conflict, Feed, Notification, Partner
from solidarity.apps.feeds.services import api_key_create, partner_revoke


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "auth", "bin", "number", "active", "created_at")
    readonly_fields = ("secret_ids",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its notifications name it; revoke it with `solidarity feeds revoke`


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "feed",
        "provider_id",
        "status",
        "amount_minor",
        "received_at",
        "flagged_at",
    )
    list_filter = ("status", "feed")
    search_fields = ("provider_id", "bank_ref")
    readonly_fields = tuple(f.name for f in Notification._meta.fields)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # stored as received; replay it from /office/notifications/

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    """Read only: conflicts are recorded by the receivers and the partner API, and resolved
    from the back office's notification log."""

    list_display = ("id", "source", "provider_id", "differs", "received_at", "resolved_at")
    list_filter = ("source",)
    search_fields = ("provider_id",)
    readonly_fields = tuple(f.name for f in Conflict._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
