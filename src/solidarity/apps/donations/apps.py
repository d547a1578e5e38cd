from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "solidarity.apps.donations"
    label = "donations"

    def ready(self) -> None:
        from solidarity.apps.donations.selectors import donation_id_by_ref  # noqa: PLC0415
        from solidarity.apps.transparency.selectors import (  # noqa: PLC0415
            log_gift_finder_register,
        )

        log_gift_finder_register(donation_id_by_ref)
