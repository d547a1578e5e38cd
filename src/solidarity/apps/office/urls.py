"""Back-office addresses (no language prefix; the language is the reader's choice, kept in
the `django_language` cookie by /i18n/setlang/). Included once from solidarity.web.urls."""

from django.urls import path

from solidarity.apps.office import views, witnesses

urlpatterns = [
    path("office/", views.home, name="office-home"),
    path("office/campaigns/", views.campaigns, name="office-campaigns"),
    path("office/campaigns/new/", views.campaign_new, name="office-campaign-new"),
    path(
        "office/campaigns/close-due/",
        views.campaigns_close_due_view,
        name="office-campaigns-close-due",
    ),
    path("office/campaigns/<slug:slug>/", views.campaign_detail, name="office-campaign"),
    path(
        "office/campaigns/<slug:slug>/edit/", views.campaign_edit_page, name="office-campaign-edit"
    ),
    path(
        "office/campaigns/<slug:slug>/witnesses/",
        witnesses.campaign_witnesses,
        name="office-campaign-witnesses",
    ),
    path(
        "office/campaigns/<slug:slug>/witnesses/<str:action>/",
        witnesses.campaign_witness_action,
        name="office-campaign-witness-action",
    ),
    path(
        "office/campaigns/<slug:slug>/<str:action>/",
        views.campaign_action,
        name="office-campaign-action",
    ),
]
