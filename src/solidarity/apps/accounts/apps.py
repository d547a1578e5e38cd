from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "solidarity.apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Permissions exist only once post_migrate has created them for each app, so the
        # roles' permissions are synchronised after every app's post_migrate (idempotent),
        # not in a data migration.
        from solidarity.apps.accounts.services import roles_permissions_sync  # noqa: PLC0415

        post_migrate.connect(
            lambda **kwargs: roles_permissions_sync(using=kwargs.get("using", "default")),
            weak=False,
            dispatch_uid="solidarity-roles",
        )
