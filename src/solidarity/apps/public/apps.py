from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "solidarity.apps.public"
    label = "public"
