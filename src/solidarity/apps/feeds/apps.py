from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "solidarity.apps.feeds"
    label = "feeds"
    verbose_name = "Real-time feeds"

    def ready(self) -> None:
        """Statement imports ask this app which credits a bank feed booked already."""
        from solidarity.apps.banking.reconciliation import (  # noqa: PLC0415 - app registry
            feed_credits_register,
        )
        from solidarity.apps.feeds.confirmations import (  # noqa: PLC0415 - app registry
            NOTIFICATIONS,
        )

        feed_credits_register(NOTIFICATIONS)
