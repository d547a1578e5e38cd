"""URL map. Public pages carry a language prefix (/vi/, /en/, /es/, /pt-br/); the API, log
files, admin, webhooks, exports and QR images do not. A page address without a prefix, such
as /c/<slug>/, redirects to the visitor's language (LocaleMiddleware, from Accept-Language).
"""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from solidarity.apps.public import share, verifier
from solidarity.apps.public import views as public
from solidarity.apps.public.feeds import CampaignUpdatesFeed
from solidarity.web import views as ops
from solidarity.web.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("solidarity.apps.disbursements.urls")),
    path("", include("solidarity.apps.transparency.urls")),
    path("", include("solidarity.apps.imports.urls")),
    path("", include("solidarity.apps.feeds.urls")),
    path("", include("solidarity.apps.office.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", public.healthz, name="healthz"),
    path("favicon.ico", share.favicon, name="favicon"),
    path("media/campaigns/<path:path>", public.campaign_media, name="campaign-media"),
    path("c/<slug:slug>/updates.atom", CampaignUpdatesFeed(), name="campaign-updates-atom"),
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
    path("c/<slug:slug>/widget", share.widget, name="widget"),
    path("verifier/download", verifier.verifier_download, name="verifier-download"),
    path("c/<slug:slug>/card.png", share.share_card, name="share-card"),
    path("", include("solidarity.apps.transparency.urls_i18n")),
    path("", include("solidarity.apps.disbursements.urls_i18n")),
    prefix_default_language=True,
)
