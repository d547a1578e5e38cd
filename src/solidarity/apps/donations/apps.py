from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "solidarity.apps.donations"
    label = "donations"
