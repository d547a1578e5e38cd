"""People and their roles."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from solidarity.apps.accounts.roles import ADMIN, ROLES
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


def user_has_role(user: User, *roles: str) -> bool:
    return bool(user.is_active) and (
        user.is_superuser or user.groups.filter(name__in=roles).exists()
    )
