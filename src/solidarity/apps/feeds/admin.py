"""Admin: feeds (admins manage them; other roles read), notifications and conflicts (read
only, for everyone)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from solidarity.apps.feeds.models import Conflict, Feed, Notification


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
