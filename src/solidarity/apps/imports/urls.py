"""Back-office addresses (no language prefix); included once from solidarity.web.urls."""

from django.urls import path

from solidarity.apps.imports import views

urlpatterns = [
    path("office/imports/", views.imports_page, name="imports-office"),
    path("office/review/", views.review_page, name="review-office"),
    path("office/review/<int:pk>/<str:action>/", views.review_decide, name="review-office-decide"),
    path(
        "office/review/returns/<int:pk>/post/",
        views.pending_return_post,
        name="review-office-return-post",
    ),
]
