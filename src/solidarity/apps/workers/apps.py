from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "solidarity.apps.workers"
    label = "workers"
