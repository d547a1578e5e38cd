"""A campaign's rules for one gift, checked the same way by every channel that takes one: the
amount and the transfer memo. The apps ask `campaigns.selectors.campaign_gift_problem`,
which applies `gift_amount_problem` under a campaign's bounds.

Where the amount rule refuses and where it cannot: before any money moves, a gift it refuses
is refused (the give page, donation intents, a partner's confirmed gift through the API: the
partner still holds the payment and is told why). Money that has reached the campaign is
never refused for it, since refusing would leave money received out of the books: a bank
transfer, from a statement or a bank feed, is held in the review queue with the rule's
reason for an accountant to book as a gift or as a transfer in (`banking.booking`); a
gateway payment is booked and the breach noted on its notification (`feeds.services`).

The memo is `<campaign code> <reference>` and must fit a VietQR purpose (`PURPOSE_MAX`); a
memo that does not fit is refused, never cut, since a cut memo loses the reference that
matches the transfer to its gift. The memo rule applies where a memo is made (the give page,
intents); a memo received with money is matched, never refused for its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solidarity.core.money import transfer_max_minor
from solidarity.core.vietqr import PURPOSE_MAX


@dataclass(frozen=True)
class AmountProblem:
    """Why an amount is refused; `limit` is the bound it broke, in minor units (0 for
    `not_positive`)."""

    kind: Literal["not_positive", "below_minimum", "above_maximum"]
    limit: int

    def __str__(self) -> str:
        if self.kind == "not_positive":
            return "amount must be positive"
        if self.kind == "below_minimum":
            return f"amount below the campaign's minimum {self.limit}"
        return f"amount above the campaign's maximum {self.limit}"


def gift_amount_problem(
    amount_minor: int, *, currency: str, min_gift_minor: int | None, max_gift_minor: int | None
) -> AmountProblem | None:
    """Why a campaign with these bounds refuses a gift of `amount_minor`, or None. The largest
    gift is the campaign's maximum or the largest plausible single transfer, whichever is less."""
    if amount_minor <= 0:
        return AmountProblem("not_positive", 0)
    if min_gift_minor is not None and amount_minor < min_gift_minor:
        return AmountProblem("below_minimum", min_gift_minor)
    largest = transfer_max_minor(currency)
    if max_gift_minor is not None:
        largest = min(largest, max_gift_minor)
    if amount_minor > largest:
        return AmountProblem("above_maximum", largest)
    return None


def memo_room(code: str) -> int:
    """How many characters of reference fit after `code` and a space in a transfer memo."""
    return PURPOSE_MAX - len(code) - 1


def transfer_memo(code: str, reference: str) -> str | None:
    """The transfer memo `<code> <reference>` (just `code` without a reference), or None when
    it does not fit a VietQR purpose."""
    if len(reference) > memo_room(code):
        return None
    return f"{code} {reference}" if reference else code
