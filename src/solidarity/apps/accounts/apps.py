from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "solidarity.apps.accounts"
    label = "accounts"
    default = True

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


class SolidarityAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Solidarity's site (TOTP, audit trail) as `admin.site`."""

    default = False
    default_site = "solidarity.apps.accounts.admin_site.SolidarityAdminSite"
