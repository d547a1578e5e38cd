from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "solidarity.apps.feeds"
    label = "feeds"
    verbose_name = "Real-time feeds"
