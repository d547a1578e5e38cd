from django.apps import AppConfig


class OfficeConfig(AppConfig):
    name = "solidarity.apps.office"
    label = "office"
    default_auto_field = "django.db.models.BigAutoField"
