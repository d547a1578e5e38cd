"""Bank statement importers: one module per format, each yielding `BankTransaction`."""

from solidarity.core.statements.base import (
    ANY_DATE,
    BankTransaction,
    DateWindow,
    StatementError,
    StatementRejected,
)
from solidarity.core.statements.profile import Profile, profile_load, profile_parse
from solidarity.core.statements.reader import statement_detect, statement_read

__all__ = [
    "ANY_DATE",
    "BankTransaction",
    "DateWindow",
    "Profile",
    "StatementError",
    "StatementRejected",
    "profile_load",
    "profile_parse",
    "statement_detect",
    "statement_read",
]
