"""WSGI entry point for Granian (`solidarity serve`): Django behind the public micro-cache.

SOLIDARITY_MICROCACHE_SECONDS (default 1; 0 turns it off) bounds how long a shareable
public response is answered from memory (solidarity.web.microcache).
"""

import os

from django.core.wsgi import get_wsgi_application

from solidarity.web.microcache import MicroCache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidarity.web.settings")
application = MicroCache(
    get_wsgi_application(),
    seconds=float(os.environ.get("SOLIDARITY_MICROCACHE_SECONDS", "1")),
)
