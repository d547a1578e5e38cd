"""The webhook receivers (`/hooks/<name>`) as their own Django handler, without the site's
middleware chain.

Receivers are called by machines, hundreds of times a second at a campaign's peak; they use no
session, user, CSRF token, message or language, and answer in their provider's protocol. This
handler runs exactly the same view (`solidarity.apps.feeds.views.hook`) behind Django's
SecurityMiddleware alone (the HTTPS redirect and security headers) and Django's own exception
handling, sets Content-Length as the site does (a keep-alive client needs it), and sends
Django's request signals as usual (database connections are managed the same way). A path
that is not exactly `/hooks/<slug>` is not taken (`receivers_path`): the site answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls.converters import SlugConverter

from solidarity.apps.feeds.views import hook

_HOOK = re.compile(f"/hooks/({SlugConverter.regex})")  # as the URL pattern hooks/<slug:name>


def receivers_path(path: str) -> bool:
    """Whether `path` (WSGI PATH_INFO) is a receiver's address."""
    return _HOOK.fullmatch(path) is not None


class ReceiversHandler(WSGIHandler):  # type: ignore[misc]
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Callable[..., Any]] = []
        self._template_response_middleware: list[Callable[..., Any]] = []
        self._exception_middleware: list[Callable[..., Any]] = []
        view = convert_exception_to_response(self._hook_response)
        self._middleware_chain = convert_exception_to_response(SecurityMiddleware(view))

    @staticmethod
    def _hook_response(request: HttpRequest) -> HttpResponse:
        match = _HOOK.fullmatch(request.path_info)
        assert match is not None  # the dispatcher sends only receivers_path() here
        response: HttpResponse = hook(request, match[1])
        if not response.has_header("Content-Length"):  # as the site's CommonMiddleware does
            response.headers["Content-Length"] = str(len(response.content))
        return response
