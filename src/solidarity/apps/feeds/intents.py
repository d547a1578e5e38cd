"""The intent a transfer's reference or a gateway's order names, for the feeds.

Intents belong to the partners app, which sits above the feeds (it records partner
conflicts in the feeds' table). The partners app registers its lookup here when it is
installed (`PartnersConfig.ready`); without it no transfer names an intent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

IntentFinder = Callable[..., Any]

_finders: list[IntentFinder] = []


def intent_finder_register(finder: IntentFinder) -> None:
    """Add a lookup `finder(reference=...) -> intent or None`; registering twice is a no-op."""
    if finder not in _finders:
        _finders.append(finder)


def intent_find(*, reference: str) -> Any | None:
    """The intent with this reference, from the first registered lookup that knows it."""
    for finder in _finders:
        found = finder(reference=reference)
        if found is not None:
            return found
    return None
