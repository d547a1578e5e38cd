"""WSGI entry point for Granian (`solidarity serve`): the webhook receivers on their own lean
handler (solidarity.web.hooks), everything else Django behind the public micro-cache.

SOLIDARITY_MICROCACHE_SECONDS (default 1; 0 turns it off) bounds how long a shareable
public response is answered from memory (solidarity.web.microcache).

Every request is counted for `/metrics` (solidarity.web.metrics). A worker started by
`solidarity serve` exits when `serve` does (solidarity.web.lifeline).
"""

import gc
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

from solidarity.web.lifeline import worker_bind
from solidarity.web.microcache import MicroCache

worker_bind()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidarity.web.settings")
site = MicroCache(
    get_wsgi_application(),  # sets Django up: the receivers' modules import after it
    seconds=float(os.environ.get("SOLIDARITY_MICROCACHE_SECONDS", "1")),
)

from django.urls import get_resolver  # noqa: E402

from solidarity.web.hooks import ReceiversHandler, receivers_path  # noqa: E402
from solidarity.web.metrics import instrumented  # noqa: E402

receivers = ReceiversHandler()


def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if receivers_path(environ.get("PATH_INFO", "")):
        return receivers(environ, start_response)  # type: ignore[no-any-return]
    return site(environ, start_response)


application = instrumented(dispatch, receiver=receivers_path)


def _long_lived_frozen() -> None:
    """Import every view now and move what the worker has built so far (modules, classes,
    the URL resolver: about 130,000 objects) out of the collector's reach (`gc.freeze`).

    A full collection walks every tracked object while the worker's threads wait on it: at
    2,000,000 gifts with 16 clients searching, those pauses took 170-230 ms every few seconds
    per worker (the p99 of the statement mix); with the start-up objects frozen they take
    27-40 ms. Nothing frozen is ever freed, which is what a module or class does anyway."""
    get_resolver().url_patterns  # noqa: B018 (imports every view)
    gc.collect()
    gc.freeze()


_long_lived_frozen()
