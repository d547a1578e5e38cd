"""Double-entry rules: a journal transaction balances per currency or is refused.

Sign convention: a positive amount debits the account, a negative amount credits it.
Account codes are colon-separated paths whose first segment is the account type:

    asset:bank:<bin>:<number>        money held at a receiving bank account
    asset:clearing:<channel>         money received through a channel not yet at a bank
    income:gifts:<campaign>          gifts to a campaign (credit side)
    expense:disbursed:<campaign>     tranches handed over from a campaign
    expense:fees:<bin>:<number>      bank fees and other non-gift outflows
    equity:transfers:<bin>:<number>  transfers in/out of an account that are not gifts

Posted transactions are never edited; a correction is `transaction_reverse`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from solidarity.core.errors import Refused
from solidarity.core.money import Money

ACCOUNT_TYPES = ("asset", "liability", "income", "expense", "equity")

ACCOUNTS = {
    "bank": "asset:bank",
    "clearing": "asset:clearing",
    "gifts": "income:gifts",
    "disbursed": "expense:disbursed",
    "fees": "expense:fees",
    "transfers": "equity:transfers",
}
"""The accounts of the books by name, and the prefix of their codes (module docstring)."""


def account_code(account: str, *key: str) -> str:
    """The code of `account` (a name in ACCOUNTS) for `key`: the campaign's slug, the channel,
    or a bank account's BIN and number. KeyError for an unknown account name."""
    return ":".join((ACCOUNTS[account], *key))


class LedgerError(Refused):
    """A journal transaction that cannot be posted; `errors` lists every reason."""


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: Money


@dataclass(frozen=True, slots=True)
class JournalTransaction:
    """A balanced set of postings. Construct through `transaction_build`."""

    kind: str
    postings: tuple[Posting, ...]
    memo: str = ""


def account_code_check(code: str) -> list[str]:
    """Every problem with an account code (empty list when valid)."""
    parts = code.split(":")
    errors = []
    if parts[0] not in ACCOUNT_TYPES:
        errors.append(f"account {code!r} must start with one of {', '.join(ACCOUNT_TYPES)}")
    if any(not p or p != p.strip() for p in parts) or len(parts) < 2:
        errors.append(f"account {code!r} has an empty or padded segment")
    return errors


def transaction_errors(postings: Iterable[Posting]) -> list[str]:
    """Every reason the postings cannot form a journal transaction."""
    postings = tuple(postings)
    errors: list[str] = []
    if len(postings) < 2:
        errors.append("a journal transaction needs at least two postings")
    sums: dict[str, int] = defaultdict(int)
    for i, posting in enumerate(postings):
        errors.extend(f"posting {i}: {e}" for e in account_code_check(posting.account))
        if posting.amount.minor == 0:
            errors.append(f"posting {i}: zero amount on {posting.account}")
        sums[posting.amount.currency] += posting.amount.minor
    errors.extend(
        f"postings in {currency} sum to {total}, not 0"
        for currency, total in sorted(sums.items())
        if total != 0
    )
    return errors


def transaction_build(kind: str, postings: Iterable[Posting], memo: str = "") -> JournalTransaction:
    """A balanced journal transaction, or LedgerError listing every problem."""
    postings = tuple(postings)
    errors = transaction_errors(postings)
    if not kind:
        errors.insert(0, "a journal transaction needs a kind")
    if errors:
        raise LedgerError(errors)
    return JournalTransaction(kind=kind, postings=postings, memo=memo)


def transaction_reverse(txn: JournalTransaction, memo: str = "") -> JournalTransaction:
    """The correcting transaction that cancels `txn` exactly."""
    return transaction_build(
        "reversal",
        (Posting(p.account, -p.amount) for p in txn.postings),
        memo or f"reverses {txn.kind}",
    )


def gift_postings(*, source_account: str, campaign: str, amount: Money) -> tuple[Posting, ...]:
    """Money arrives at `source_account` as a gift to `campaign`."""
    return (
        Posting(source_account, amount),
        Posting(account_code("gifts", campaign), -amount),
    )


def disbursement_postings(
    *, source_account: str, campaign: str, amount: Money
) -> tuple[Posting, ...]:
    """Money leaves `source_account` as a tranche of `campaign`."""
    return (
        Posting(account_code("disbursed", campaign), amount),
        Posting(source_account, -amount),
    )


def balances(postings: Iterable[Posting]) -> Mapping[tuple[str, str], int]:
    """Sum of minor units per (account, currency)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for p in postings:
        out[(p.account, p.amount.currency)] += p.amount.minor
    return dict(out)
