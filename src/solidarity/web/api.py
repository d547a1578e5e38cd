"""The JSON API at /api/v1/ (django-ninja); each app contributes a router."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Solidarity API",
    version="1",
    description="Public campaign data, proofs, and the partner API for online gifts.",
    urls_namespace="api-v1",
    docs_url="/docs",
)

# Routers, one line per app: api.add_router("/campaigns/", "solidarity.apps.<app>.api.router")
api.add_router("/campaigns/", "solidarity.apps.public.api.router")
api.add_router("/campaigns/", "solidarity.apps.transparency.api.router")
api.add_router("/partner/", "solidarity.apps.partners.api.router")
