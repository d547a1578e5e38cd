"""The receipt page, included inside the language-prefixed patterns of solidarity.web.urls."""

from django.urls import re_path

from solidarity.apps.transparency import views

# A ref has no dot or slash, so /c/<slug>/receipt/<ref>.json is never mistaken for a page.
urlpatterns = [
    re_path(
        r"^c/(?P<slug>[-a-zA-Z0-9_]+)/receipt/(?P<ref>[^/.]+)/$",
        views.receipt_page,
        name="receipt",
    ),
]
