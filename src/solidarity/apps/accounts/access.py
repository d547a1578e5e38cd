"""The one permission check of the back-office pages, and the client address they record.

Every office view is wrapped in `role_required(read=..., write=...)`: GET and HEAD need one
of the `read` or `write` roles, any other method one of the `write` roles. Anonymous visitors
are sent to the login page; a logged-in person without the role gets 403; an admin or
approver whose session has no verified TOTP device gets 403 until they log in again with a
code. A write that the view answers with a status below 400 is appended to the audit trail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.translation import gettext as _

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.services import (
    audit_record,
    user_has_role,
    user_is_verified,
    user_needs_otp,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

View = Callable[..., HttpResponse]


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with SOLIDARITY_PROXIES = N trusted proxies in
    front, the address the outermost of them saw (the N-th entry from the right of
    X-Forwarded-For). Used by the login lockout and the audit trail alike."""
    proxies = int(getattr(settings, "SOLIDARITY_PROXIES", 0) or 0)
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies][:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def axes_client_ip(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the same address as `client_ip`."""
    return client_ip(request)


def refusal(request: HttpRequest, *, read: tuple[str, ...], write: tuple[str, ...]) -> str | None:
    """Why `request` may not go on (a message), or None when it may."""
    user = request.user
    allowed = write if request.method not in SAFE_METHODS else (*read, *write)
    if not user_has_role(user, *allowed):
        return _("Your role does not allow this.")
    if user_needs_otp(user) and not user_is_verified(user):
        return _("Log in again with the code from your authenticator app.")
    return None


def role_required(
    *, read: tuple[str, ...] = (), write: tuple[str, ...] = ()
) -> Callable[[View], View]:
    """Decorate an office view with the roles that may read (GET, HEAD) and write (others)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            reason = refusal(request, read=read, write=write)
            if reason is not None:
                return HttpResponseForbidden(reason)
            response = view(request, *args, **kwargs)
            if request.method not in SAFE_METHODS and response.status_code < 400:
                audit_record(
                    via=AuditEvent.Via.OFFICE,
                    user=request.user,
                    action=f"office.{view.__name__}",
                    target=request.path,
                    detail={"kwargs": {k: str(v) for k, v in kwargs.items()}},
                    ip=client_ip(request),
                )
            return response

        return wrapped

    return decorate
