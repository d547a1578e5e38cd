from django.contrib import admin

from solidarity.apps.ledger.models import JournalTransaction, LedgerAccount, Posting


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount_minor", "currency")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalTransaction)
class JournalTransactionAdmin(admin.ModelAdmin):
    """Posted transactions are read-only here and refused by the database on change."""

    list_display = ("id", "campaign", "kind", "occurred_at", "booked_at")
    list_filter = ("campaign", "kind")
    inlines = (PostingInline,)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(admin.ModelAdmin):
    list_display = ("code", "campaign", "created_at")
    search_fields = ("code",)
    readonly_fields = ("code", "campaign", "created_at")

    def has_add_permission(self, request):
        return False  # accounts are opened by the services that post to them

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
