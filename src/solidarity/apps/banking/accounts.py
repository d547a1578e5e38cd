"""Receiving accounts as booking sees them: the account an operator names (`AccountRef`), the
account a transaction was paid into with its campaigns (`Target`), the resolver that finds it
(`AccountResolver`), and the lock that serialises booking per account."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from solidarity.apps.campaigns.models import Campaign, ReceivingAccount
from solidarity.core.banks import account_parse
from solidarity.core.ledger import account_code
from solidarity.core.matching import CampaignRule
from solidarity.core.statements import BankTransaction


@dataclass(frozen=True)
class AccountRef:
    """A receiving account named by the operator (`--account BANK:NUMBER`, BANK as
    `core.banks.account_parse` reads it); `bin` is the bank's key."""

    bin: str
    number: str

    @classmethod
    def parse(cls, text: str) -> AccountRef:
        """ValueError (BankAccountError) naming the part that is wrong."""
        account = account_parse(text)
        return cls(account.bin, account.number)

    def __str__(self) -> str:
        return f"{self.bin}:{self.number}"


@dataclass
class Target:
    """A receiving account as booking needs it: its identity source and its campaigns."""

    bin: str
    number: str
    rows: dict[int, ReceivingAccount]  # campaign id → that campaign's row for this account
    campaigns: dict[int, Campaign]
    forced: Campaign | None = None

    @property
    def source(self) -> str:
        return f"bank:{self.bin}:{self.number}"

    @property
    def ledger_code(self) -> str:
        return account_code("bank", self.bin, self.number)

    def rules(self, stated_account: str) -> list[CampaignRule]:
        return [
            CampaignRule(
                slug=c.slug,
                code=c.code,
                keywords=tuple(c.keywords or ()),
                accounts=(stated_account,),
            )
            for c in self.campaigns.values()
            if c.status == Campaign.Status.OPEN
        ]

    @property
    def movement_campaign(self) -> Campaign:
        """The campaign whose books carry the account's non-gift movements: the forced one,
        else the first campaign (by id) that owns the account."""
        return self.forced or self.campaigns[min(self.campaigns)]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class AccountResolver:
    """Finds the receiving account of each transaction; caches per stated account.

    A transaction stating account S belongs to receiving account N when S's digits equal N,
    or, for non-domestic forms (IBAN, BLZ/number, with letters or separators), when S's
    digits end with N (at least 6 digits). With an operator-named account, every stated
    account must match it; a file that states none is taken to be for it.
    """

    def __init__(self, *, account: AccountRef | None = None, campaign: Campaign | None = None):
        self.account = account
        self.campaign = campaign
        self._cache: dict[tuple[str, str | None], Target | str] = {}
        self._all: list[ReceivingAccount] | None = None
        self._targets: dict[tuple[str, str], Target] = {}

    def targets(self) -> list[Target]:
        """The receiving accounts resolved so far."""
        return list(self._targets.values())

    def preload(self) -> None:
        """Read the receiving accounts now, so resolving needs no database afterwards."""
        self._accounts()

    def preload_accounts(self) -> list[ReceivingAccount]:
        """The receiving accounts (with their campaigns) this resolver chooses among."""
        return self._accounts()

    def _accounts(self) -> list[ReceivingAccount]:
        if self._all is None:
            rows = ReceivingAccount.objects.select_related("campaign")
            if self.account is not None:
                rows = rows.filter(bin=self.account.bin, number=self.account.number)
            self._all = list(rows)
        return self._all

    def target_for(self, bin_: str, number: str) -> Target:
        key = (bin_, number)
        if key not in self._targets:
            rows = [a for a in self._accounts() if (a.bin, a.number) == key]
            self._targets[key] = Target(
                bin=bin_,
                number=number,
                rows={a.campaign_id: a for a in rows},
                campaigns={a.campaign_id: a.campaign for a in rows},
                forced=self.campaign,
            )
        return self._targets[key]

    def resolve(self, tx: BankTransaction) -> Target | str:
        """The transaction's Target, or a message saying why it has none."""
        key = (tx.account, tx.bin)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(tx.account, tx.bin)
        return found

    def _resolve(self, stated: str, bin_: str | None) -> Target | str:
        digits = _digits(stated)
        domestic = stated.isdigit()

        def fits(number: str) -> bool:
            return digits == number or (
                not domestic and len(number) >= 6 and digits.endswith(number)
            )

        if self.account is not None:
            if not self._accounts():
                return f"--account {self.account}: not a receiving account of any campaign"
            if stated and not fits(self.account.number):
                return f"the file is for account {stated}, not --account {self.account}"
            if bin_ and bin_ != self.account.bin:
                return f"the file is for bank {bin_}, not --account {self.account}"
            target = self.target_for(self.account.bin, self.account.number)
        else:
            hits = {
                (a.bin, a.number)
                for a in self._accounts()
                if fits(a.number) and (not bin_ or a.bin == bin_)
            }
            if hits:
                longest = max(len(n) for _, n in hits)
                hits = {h for h in hits if len(h[1]) == longest}
            if not hits:
                return (
                    f"account {stated} is not a receiving account of any campaign; "
                    "name it with --account BIN:NUMBER"
                )
            if len(hits) > 1:
                names = ", ".join(f"{b}:{n}" for b, n in sorted(hits))
                return f"account {stated} could be {names}; name it with --account BIN:NUMBER"
            target = self.target_for(*hits.pop())
        if self.campaign is not None and self.campaign.pk not in target.campaigns:
            return f"account {target.bin}:{target.number} is not one of {self.campaign.slug}'s"
        return target


def receiving_accounts_lock(accounts: Iterable[tuple[str, str]]) -> None:
    """Hold, until the current transaction ends, the right to reconcile and book transfers to
    these receiving accounts ((bin, number) pairs). A statement batch and the feed booker take
    it before they look for each other's gifts, so a transfer both channels report is never
    booked twice by two transactions that could not see each other. SQLite needs nothing more:
    its writers run one at a time (every transaction here begins IMMEDIATE). PostgreSQL: one
    transaction-level advisory lock per account, taken in sorted order (no deadlock).
    Must be called inside `transaction.atomic`."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        {
            int.from_bytes(
                hashlib.blake2b(f"{b}:{n}".encode(), digest_size=8).digest(), "big", signed=True
            )
            for b, n in accounts
        }
    )
    with connection.cursor() as cur:
        for key in keys:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])
