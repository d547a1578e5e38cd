"""The privacy policy: what of a gift the public may see.

In the public log, forever: the amount, currency, time, channel, campaign, the public
reference, and a donor name chosen by the donor's privacy setting: the name they chose
(`named`), their name masked (`masked`, the default for bank transfers, whose sender names
the bank prints), or "anonymous". No memo and no other free text.
On the site only, until erased: the memo as `memo_publish` shows it (numbers masked, the
donor's name masked unless `named`, nothing at all when `anonymous`).
Never published: the sender's account number, the raw memo, the unmasked name. They are
bound to the public entry by `commitment` (salted SHA-256), so a donor holding the salt
can prove a gift is theirs and erasing the private record leaves the log verifiable.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal

from solidarity.core.matching import memo_mask, name_mask
from solidarity.core.tlog.entry import commitment

PrivacyChoice = Literal["named", "masked", "anonymous"]
ANONYMOUS = "anonymous"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

__all__ = [
    "commitment",
    "donor_publish",
    "memo_mask",
    "memo_publish",
    "name_mask",
    "privacy_stricter",
    "public_ref_derive",
]
_STRICTNESS: dict[str, int] = {"named": 0, "masked": 1, "anonymous": 2}


def donor_publish(privacy: PrivacyChoice, name: str) -> str:
    """The donor name as the public sees it under `privacy`."""
    name = " ".join(name.split())
    if privacy == "anonymous" or not name:
        return ANONYMOUS
    if privacy == "named":
        return name
    if privacy == "masked":
        return name_mask(name) or ANONYMOUS
    raise ValueError(f"unknown privacy choice {privacy!r}")


def memo_publish(
    privacy: PrivacyChoice, memo: str, names: Iterable[str] = (), shown_name: str = ""
) -> str:
    """The memo as the site may show it under `privacy`: nothing when anonymous; else the
    memo with its numbers masked and every name in `names` (the donor's, the sender's)
    masked too, but for `shown_name`, the name a `named` donor chose to publish. Never
    written to the log."""
    if privacy == "anonymous":
        return ""
    if privacy not in _STRICTNESS:
        raise ValueError(f"unknown privacy choice {privacy!r}")
    if privacy == "named":
        names = [n for n in names if " ".join(n.split()) != " ".join(shown_name.split())]
    return memo_mask(memo, names)


def privacy_stricter(a: PrivacyChoice, b: PrivacyChoice) -> PrivacyChoice:
    """The choice that publishes less: a donor's strictest choice wins on every channel."""
    return a if _STRICTNESS[a] >= _STRICTNESS[b] else b


def public_ref_derive(key: bytes, source: str, source_ref: str) -> str:
    """A gift's 12-character public reference (Crockford base32, 60 bits).

    Derived by HMAC from the source identity, so a retried booking gets the same reference
    and nobody can guess one reference from another.
    """
    mac = _keyed(key).copy()
    mac.update(f"{source}\x00{source_ref}".encode())
    number = int.from_bytes(mac.digest()[:8], "big") >> 4
    return "".join([_CROCKFORD[(number >> shift) & 31] for shift in _SHIFTS])


_SHIFTS = tuple(range(55, -1, -5))


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with `key` and fed nothing: copies of it are fresh HMACs (the
    key's padding and the two inner states are not computed again per reference)."""
    return hmac.new(key, digestmod=hashlib.sha256)
