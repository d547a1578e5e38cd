from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "solidarity.apps.imports"
    label = "imports"
