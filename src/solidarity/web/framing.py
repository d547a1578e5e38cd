"""Frames: no page of the site may be framed by another site, except views marked
`xframe_options_exempt` (the embeddable widget), which set their own policy.

Django's XFrameOptionsMiddleware sends `X-Frame-Options: DENY`; this adds the modern
equivalent, CSP `frame-ancestors 'none'`, to every response that is not exempt, appending it
to a policy the view set itself.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

NO_FRAMES = "frame-ancestors 'none'"


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, "xframe_options_exempt", False):
            return response
        policy = response.get("Content-Security-Policy", "")
        if "frame-ancestors" not in policy:
            response["Content-Security-Policy"] = f"{policy}; {NO_FRAMES}" if policy else NO_FRAMES
        return response
