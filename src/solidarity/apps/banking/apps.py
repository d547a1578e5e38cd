from django.apps import AppConfig


class BankingConfig(AppConfig):
    name = "solidarity.apps.banking"
    label = "banking"
