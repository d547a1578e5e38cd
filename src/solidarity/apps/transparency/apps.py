from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    name = "solidarity.apps.transparency"
    label = "transparency"
