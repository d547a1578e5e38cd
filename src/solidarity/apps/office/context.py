"""Template context for the office pages: which navigation the reader's roles open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR
from solidarity.apps.accounts.services import user_roles
from solidarity.apps.office.labels import ROLE_NAMES


def office_roles(request: HttpRequest) -> dict[str, Any]:
    """`office_roles`: evaluated only by a page that reads it (public pages never do)."""

    def build() -> dict[str, Any]:
        roles = user_roles(getattr(request, "user", None))
        return {
            "admin": ADMIN in roles,
            "books": bool(roles & {ACCOUNTANT, ADMIN}),
            "reader": AUDITOR in roles,
            "tranches": bool(roles & {ACCOUNTANT, APPROVER, ADMIN}),
            "approver": APPROVER in roles,
            "names": [ROLE_NAMES[r] for r in sorted(roles) if r in ROLE_NAMES],
        }

    return {"office_roles": SimpleLazyObject(build)}
