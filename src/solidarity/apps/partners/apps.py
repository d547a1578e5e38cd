from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "solidarity.apps.partners"
    label = "partners"
    verbose_name = "Partners and their keys"

    def ready(self) -> None:
        """Feeds find the intent a transfer or a gateway's order names through this app."""
        from solidarity.apps.feeds.intents import (  # noqa: PLC0415 - app registry
            intent_finder_register,
        )
        from solidarity.apps.partners.selectors import intent_find  # noqa: PLC0415

        intent_finder_register(intent_find)
