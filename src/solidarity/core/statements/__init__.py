"""Bank statement importers: one module per format, each yielding `BankTransaction`."""

from solidarity.core.statements.base import (
    BankTransaction,
    StatementError,
    StatementRejected,
)
from solidarity.core.statements.profile import Profile, profile_load, profile_parse
from solidarity.core.statements.reader import statement_detect, statement_read

__all__ = [
    "BankTransaction",
    "Profile",
    "StatementError",
    "StatementRejected",
    "profile_load",
    "profile_parse",
    "statement_detect",
    "statement_read",
]
