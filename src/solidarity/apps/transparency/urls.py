"""Log files, verifier keys, receipt files and short links: no language prefix.

Included at the site root by solidarity.web.urls; the receipt page is in urls_i18n.
"""

from django.urls import path

from solidarity.apps.transparency import views

urlpatterns = [
    path("log/<slug:slug>/vkey", views.log_vkey_view, name="log-vkey"),
    path("log/<slug:slug>/<path:path>", views.log_file, name="log-file"),
    path("c/<slug:slug>/receipt/<str:ref>.json", views.receipt_json, name="receipt-json"),
    path("r/<str:ref>", views.receipt_short, name="receipt-short"),
]
