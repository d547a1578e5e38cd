from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "solidarity.apps.accounts"
    label = "accounts"
