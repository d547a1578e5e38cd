"""People and their roles."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR, ROLES
from solidarity.core.errors import Refused


class UserError(Refused):
    """A refused request; `errors` lists every reason."""


def user_add(*, username: str, role: str, password: str, email: str = "") -> User:
    """Create a person with one role; admins may also use the Django admin site."""
    errors = []
    if role not in ROLES:
        errors.append(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not username or User.objects.filter(username=username).exists():
        errors.append(f"username {username!r} is empty or taken")
    try:
        validate_password(password)
    except ValidationError as exc:
        errors.extend(f"password: {m}" for m in exc.messages)
    if errors:
        raise UserError(errors)
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        # Every role reads the back office; only admins change configuration there.
        user.is_staff = True
        user.is_superuser = role == ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.add(Group.objects.get(name=role))
    return user


# What each role may do in the back office and the Django admin, beyond reading.
# Every role reads everything (view permissions on every Solidarity app); admins are
# superusers. Booked books stay read-only for everyone: the admin refuses edits and the
# database refuses UPDATE and DELETE.
ROLE_CHANGES: dict[str, tuple[str, ...]] = {
    ACCOUNTANT: ("imports", "feeds"),
    APPROVER: ("disbursements",),
    AUDITOR: (),
}
_SOLIDARITY_APPS = (
    "accounts",
    "campaigns",
    "ledger",
    "donations",
    "transparency",
    "disbursements",
    "imports",
    "feeds",
)


def roles_permissions_sync(*, using: str = "default") -> None:
    """Give each role group its permissions: view on every app, and its own changes."""
    for role, change_apps in ROLE_CHANGES.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        perms = Permission.objects.using(using).filter(content_type__app_label__in=_SOLIDARITY_APPS)
        wanted = [
            p
            for p in perms
            if p.codename.startswith("view_") or p.content_type.app_label in change_apps
        ]
        group.permissions.set(wanted)


def user_has_role(user: User, *roles: str) -> bool:
    return bool(user.is_active) and (
        user.is_superuser or user.groups.filter(name__in=roles).exists()
    )
