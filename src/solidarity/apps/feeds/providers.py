"""The one registry of feed providers: for each `Feed.Kind`, how a received notification is
authenticated and read, and how a stored one is read again (protocols in `core.webhooks`).

VNPay's IPN arrives as query parameters and is answered in VNPay's own format, so its
receiving lives in `views._vnpay`; its stored notification is read again here like the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from solidarity.apps.feeds.models import Feed, Notification
from solidarity.core import webhooks

Headers = Mapping[str, str]


@dataclass(frozen=True)
class Provider:
    """`receive(headers, body, secrets, auth, now)` authenticates a notification and returns
    its transfer, raising NotAuthentic or Malformed (None: not received as a POST body);
    `reparse(headers, body)` reads a stored, already authenticated notification again."""

    receive: Callable[[Headers, bytes, Sequence[str], str, float], webhooks.Transfer] | None
    reparse: Callable[[Headers, bytes], webhooks.Transfer]


def _sepay_receive(
    headers: Headers, body: bytes, secrets: Sequence[str], auth: str, now: float
) -> webhooks.Transfer:
    webhooks.sepay_verify(headers, body, secrets, auth=auth, now=now)
    return webhooks.sepay_parse(body)


def _casso_receive(
    headers: Headers, body: bytes, secrets: Sequence[str], auth: str, now: float
) -> webhooks.Transfer:
    data = webhooks.json_parse(body)
    webhooks.casso_verify(headers, data, secrets, now=now)
    return webhooks.casso_parse(data)


def _standard_receive(
    headers: Headers, body: bytes, secrets: Sequence[str], auth: str, now: float
) -> webhooks.Transfer:
    webhooks.standard_verify(headers, body, secrets, now=now)
    return webhooks.standard_parse(headers, body)


PROVIDERS: dict[str, Provider] = {
    Feed.Kind.SEPAY: Provider(_sepay_receive, lambda h, b: webhooks.sepay_parse(b)),
    Feed.Kind.CASSO: Provider(
        _casso_receive, lambda h, b: webhooks.casso_parse(webhooks.json_parse(b))
    ),
    Feed.Kind.STANDARD: Provider(_standard_receive, webhooks.standard_parse),
    Feed.Kind.VNPAY: Provider(
        None,
        lambda h, b: webhooks.vnpay_parse(dict(parse_qsl(b.decode(), keep_blank_values=True))),
    ),
}


BANK_KINDS = (Feed.Kind.SEPAY, Feed.Kind.CASSO)
"""The kinds whose notifications report bank transfers: booked through the banking door and
reconciled with statements."""


def transfer_of(feed: Feed, notification: Notification) -> webhooks.Transfer:
    """The transfer a stored notification reports (parsed again from the stored body)."""
    return PROVIDERS[feed.kind].reparse(notification.headers, notification.body.encode())
