"""URL map. Public pages, then the API, log files and webhooks (no language prefix there)."""

from django.contrib import admin
from django.urls import path

from solidarity.apps.campaigns import views as campaign_views
from solidarity.web.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("c/<slug:slug>/", campaign_views.campaign_page, name="campaign"),
]
