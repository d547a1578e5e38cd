"""Statements for the board and the public: the reconciliation rule and safe CSV cells."""

from __future__ import annotations

from dataclasses import dataclass

# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP CSV
# injection); prefixing a single quote makes them show it as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: str) -> str:
    """`value` as a spreadsheet will show it, never run it."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """opening + gifts − reversals − tranches = closing, in minor units of one currency."""

    opening: int
    gifts: int
    reversals: int
    tranches: int
    closing: int

    @property
    def expected_closing(self) -> int:
        return self.opening + self.gifts - self.reversals - self.tranches

    @property
    def ok(self) -> bool:
        return self.expected_closing == self.closing
