"""Public pages with a language prefix (/vi/c/<slug>/tranches); included in i18n_patterns."""

from django.urls import path

from solidarity.apps.disbursements import views

urlpatterns = [
    path("c/<slug:slug>/tranches", views.tranches_page, name="campaign-tranches"),
]
