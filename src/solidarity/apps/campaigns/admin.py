from django.contrib import admin

from solidarity.apps.campaigns.models import Campaign, ReceivingAccount


class ReceivingAccountInline(admin.TabularInline):
    model = ReceivingAccount
    extra = 0
    readonly_fields = ("added_at",)

    def has_delete_permission(self, request, obj=None):
        return False  # an announced account is part of the public record


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("slug", "code", "status", "currency", "goal_minor", "opens_at", "days")
    list_filter = ("status",)
    search_fields = ("slug", "code")
    readonly_fields = ("goal_reached_at", "created_at", "status")
    inlines = (ReceivingAccountInline,)

    def has_delete_permission(self, request, obj=None):
        return False
