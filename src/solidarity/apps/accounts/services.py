"""People, their roles, their second factor, and the audit trail of what they change."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR, OTP_ROLES, ROLES
from solidarity.core.errors import Refused


class UserError(Refused):
    """A refused request; `errors` lists every reason."""


@dataclass(frozen=True)
class TotpEnrolment:
    """A new TOTP device; `uri` (otpauth://) is shown once, to be scanned by an app."""

    device: TOTPDevice
    uri: str


def user_add(*, username: str, role: str, password: str, email: str = "") -> User:
    """Create a person with one role. Admins and approvers then need `totp_enrol`."""
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


def totp_enrol(*, user: User) -> TotpEnrolment:
    """Give `user` a new confirmed TOTP device, replacing any earlier one.

    The old device stops working at once: a lost phone is handled by enrolling again.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="solidarity", confirmed=True)
    return TotpEnrolment(device=device, uri=device.config_url)


# What each role may change in the Django admin, by permission codename. Every role reads
# every Solidarity app (view permissions); admins are superusers and manage users, feeds,
# secrets and partner keys. Nobody holds a delete permission on the books: booked gifts,
# postings, notifications, imports and review decisions are refused by the admin and, for
# the books, by the database.
ROLE_CHANGES: dict[str, tuple[str, ...]] = {
    ACCOUNTANT: (
        "imports.add_import",
        "banking.change_reviewitem",
        "banking.change_pendingreversal",
        "feeds.change_notification",
    ),
    APPROVER: ("disbursements.change_tranche", "disbursements.add_trancheevent"),
    AUDITOR: (),
}
_SOLIDARITY_APPS = (
    "accounts",
    "campaigns",
    "ledger",
    "donations",
    "banking",
    "transparency",
    "disbursements",
    "imports",
    "feeds",
    "partners",
)


def roles_permissions_sync(*, using: str = "default") -> None:
    """Give each role group its permissions: view on every app, and its own changes."""
    for role, changes in ROLE_CHANGES.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        perms = Permission.objects.using(using).filter(content_type__app_label__in=_SOLIDARITY_APPS)
        wanted = [
            p
            for p in perms.select_related("content_type")
            if p.codename.startswith("view_")
            or f"{p.content_type.app_label}.{p.codename}" in changes
        ]
        group.permissions.set(wanted)


def user_roles(user: User | AnonymousUser | Any) -> frozenset[str]:
    """The roles `user` holds: its role groups, and admin for a superuser. Empty if inactive."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_solidarity_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._solidarity_roles = cached
    return cached  # type: ignore[no-any-return]


def user_has_role(user: User | AnonymousUser | Any, *roles: str) -> bool:
    """True if `user` is active and holds one of `roles` (see `user_roles`)."""
    return bool(user_roles(user) & set(roles))


def user_needs_otp(user: User | AnonymousUser | Any) -> bool:
    """Admins and approvers act only after a TOTP check in the same session."""
    return user_has_role(user, *OTP_ROLES)


def user_is_verified(user: User | AnonymousUser | Any) -> bool:
    """The session's login included a TOTP token (django-otp's OTPMiddleware says so)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def audit_record(
    *,
    via: str,
    action: str,
    user: User | AnonymousUser | Any = None,
    username: str = "",
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Append one row to the audit trail; rows are never changed or deleted afterwards.

    `user` (or, for the CLI, `username`) is who; `ip` is from where (the client's address,
    or the host name for the CLI); the row's time is now.
    """
    if user is not None and getattr(user, "is_authenticated", False):
        username = user.get_username()
        roles = ",".join(sorted(user_roles(user)))
    else:
        roles = ""
        found = User.objects.filter(username=username).first() if username else None
        if found is not None:
            roles = ",".join(sorted(user_roles(found)))
    return AuditEvent.objects.create(
        at=timezone.now(),
        username=username[:150],
        roles=roles[:100],
        via=via,
        action=action[:100],
        target=target[:300],
        detail=dict(detail or {}),
        ip=(ip or (socket.gethostname() if via == AuditEvent.Via.CLI else ""))[:64],
    )
