"""URL map. Public pages carry a language prefix (/vi/, /en/, /es/, /pt-br/); the API, log
files, admin, webhooks, exports and QR images do not. A page address without a prefix, such
as /c/<slug>/, redirects to the visitor's language (LocaleMiddleware, from Accept-Language).
"""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from solidarity.apps.public import views as public
from solidarity.web import views as ops
from solidarity.web.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("solidarity.apps.disbursements.urls")),
    path("", include("solidarity.apps.transparency.urls")),
    path("", include("solidarity.apps.imports.urls")),
    path("", include("solidarity.apps.feeds.urls")),
    path("healthz", public.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("c/<slug:slug>/give/qr.svg", public.give_qr, {"kind": "svg"}, name="give-qr-svg"),
    path("c/<slug:slug>/give/qr.png", public.give_qr, {"kind": "png"}, name="give-qr-png"),
    path("c/<slug:slug>/statement.csv", public.statement_export, {"fmt": "csv"}, name="export-csv"),
    path(
        "c/<slug:slug>/statement.json", public.statement_export, {"fmt": "json"}, name="export-json"
    ),
]

urlpatterns += i18n_patterns(
    path("", public.home, name="home"),
    path("privacy/", public.privacy_page, name="privacy"),
    path("c/<slug:slug>/", public.campaign_page, name="campaign"),
    path("c/<slug:slug>/give/", public.give_page, name="give"),
    path("c/<slug:slug>/statement", public.statement_page, name="statement"),
    path("c/<slug:slug>/verify/", public.verify_page, name="verify"),
    path("", include("solidarity.apps.transparency.urls_i18n")),
    path("", include("solidarity.apps.disbursements.urls_i18n")),
    prefix_default_language=True,
)
