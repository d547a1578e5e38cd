from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "solidarity.apps.feeds"
    label = "feeds"
    verbose_name = "Real-time feeds"

    def ready(self) -> None:
        """Statement imports ask this app which credits a bank feed booked already."""
        from solidarity.apps.banking.reconciliation import (  # noqa: PLC0415 - app registry
            confirmations_finder_register,
        )
        from solidarity.apps.feeds.services import (  # noqa: PLC0415 - app registry
            statement_confirmations_find,
        )

        confirmations_finder_register(statement_confirmations_find)
