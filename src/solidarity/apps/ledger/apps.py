from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "solidarity.apps.ledger"
    label = "ledger"
