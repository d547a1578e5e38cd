"""What booking bank transactions did (`BookReport`), and the refusal when none can be booked."""

from __future__ import annotations

from dataclasses import dataclass

from solidarity.core.errors import Refused


class BookingRefused(Refused):
    """Transactions that cannot be booked at all; `errors` names each. Nothing was written."""


@dataclass
class BookReport:
    """What booking a stream of bank transactions did. Every transaction lands in exactly one
    of the counters other than `rows_read` (`rejected` only counts refused files' rows)."""

    rows_read: int = 0
    booked: int = 0
    duplicates: int = 0
    to_review: int = 0
    reversals: int = 0
    reversals_pending: int = 0
    not_gifts: int = 0
    rejected: int = 0

    def add(self, other: BookReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
