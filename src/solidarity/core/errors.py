"""The shape every refused request takes: all the reasons at once, nothing written."""

from __future__ import annotations

from collections.abc import Iterable


class Refused(ValueError):
    """A request refused for every reason in `errors`; the refusing call wrote nothing."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))
