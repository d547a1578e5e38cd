from django.contrib import admin

from solidarity.apps.donations.models import Donation


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    """Booked gifts are read-only: corrections are reversals, never edits."""

    list_display = (
        "public_ref",
        "campaign",
        "amount_minor",
        "currency",
        "received_at",
        "channel",
        "display_name",
    )
    list_filter = ("campaign", "channel")
    search_fields = ("public_ref", "bank_ref", "source_ref")
    date_hierarchy = "received_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD")

    def has_delete_permission(self, request, obj=None):
        return False
