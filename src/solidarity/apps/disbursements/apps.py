from django.apps import AppConfig


class DisbursementsConfig(AppConfig):
    name = "solidarity.apps.disbursements"
    label = "disbursements"
