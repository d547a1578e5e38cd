from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "solidarity.apps.partners"
    label = "partners"
    verbose_name = "Partners and their keys"
