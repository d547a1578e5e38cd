"""Addresses without a language prefix: evidence files, report downloads, the back office.

Included once from solidarity.web.urls; the public page is in `urls_i18n`.
"""

from django.urls import path, re_path

from solidarity.apps.disbursements import goods_views, views

urlpatterns = [
    re_path(
        r"^c/(?P<slug>[-a-zA-Z0-9_]+)/tranches/evidence/(?P<sha256>[0-9a-f]{64})$",
        views.evidence_file,
        name="tranche-evidence",
    ),
    re_path(
        r"^c/(?P<slug>[-a-zA-Z0-9_]+)/report\.(?P<fmt>pdf|csv|xlsx)$",
        views.report_download,
        name="campaign-report",
    ),
    path("office/tranches/", views.office_list, name="tranche-office"),
    path("office/tranches/new/", views.office_propose, name="tranche-office-propose"),
    path("office/tranches/<int:pk>/", views.office_detail, name="tranche-office-detail"),
    path(
        "office/tranches/<int:pk>/<str:action>/", views.office_action, name="tranche-office-action"
    ),
    path("office/goods/", goods_views.office_goods, name="goods-office"),
    path("office/goods/import/", goods_views.office_goods_import, name="goods-office-import"),
    re_path(
        r"^office/goods/(?P<pk>[0-9]+)/evidence/(?P<sha256>[0-9a-f]{64})$",
        goods_views.office_goods_evidence,
        name="goods-office-evidence",
    ),
]
