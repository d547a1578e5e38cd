from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "solidarity.apps.campaigns"
    label = "campaigns"
