"""Receivers and back office (no language prefix); included once from solidarity.web.urls."""

from django.urls import path

from solidarity.apps.feeds import views

urlpatterns = [
    path("hooks/<slug:name>", views.hook, name="feed-hook"),
    path("office/notifications/", views.notifications_page, name="notifications-office"),
    path(
        "office/notifications/<int:pk>/replay/",
        views.notification_replay_view,
        name="notifications-office-replay",
    ),
    path(
        "office/notifications/conflicts/<int:pk>/resolve/",
        views.conflict_resolve_view,
        name="notifications-office-conflict-resolve",
    ),
]
