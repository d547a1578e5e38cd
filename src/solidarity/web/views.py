"""Operational endpoints: `/readyz` (readiness, for load balancers) and `/metrics`
(Prometheus, bearer token). `/healthz`, liveness only, is solidarity.apps.public.views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from solidarity.web.health import readiness
from solidarity.web.metrics import CONTENT_TYPE, authorized, metrics_text


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when ready, else 503; the JSON names the reasons and every check's values."""
    state = readiness()
    return JsonResponse(state.as_json(), status=200 if state.ready else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not authorized(request.headers.get("Authorization", "")):
        response = HttpResponse(b"a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE)
