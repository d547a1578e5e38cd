"""The audit trail (every role reads it; nobody adds, changes or deletes) and the login
lockouts (admins only) in the admin."""

from __future__ import annotations

from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.http import HttpRequest

from solidarity.apps.accounts.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "roles", "via", "action", "target", "ip")
    list_filter = ("via", "action")
    search_fields = ("username", "action", "target", "ip")
    date_hierarchy = "at"
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# django-axes' records of failed logins: admins read and delete them (deleting an attempt lifts
# that lockout, as `solidarity user unlock` does). Registered here rather than by django-axes
# (AXES_ENABLE_ADMIN = False) to leave out its "clean up expired attempts" action, which
# needs the attempt time only a login request carries and fails anywhere else.
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    actions = None


admin.site.register(AccessAttempt, AccessAttemptAdmin)
admin.site.register(AccessLog, axes_admin.AccessLogAdmin)
admin.site.register(AccessFailureLog, axes_admin.AccessFailureLogAdmin)
