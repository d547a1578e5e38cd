"""Authenticating and reading provider notifications: SePay, Casso v2, Standard Webhooks, VNPay.

Pure functions over the raw request (headers, body bytes, query parameters); no Django. Every
check runs on the raw bytes received and compares with `hmac.compare_digest`; every verifier
accepts several secrets at once, so a secret can be rotated without losing notifications.

- SePay (developer.sepay.vn, "Xác thực"): `Authorization: Apikey <key>`, or HMAC-SHA256.
  SePay documents the `X-SePay-Timestamp` / `X-SePay-Signature` headers and a 5-minute
  replay window but, in what we could read, not the exact string signed; this module defines
  it: lowercase hex HMAC-SHA256(secret, timestamp + "." + raw body), timestamp in Unix
  seconds, an optional `sha256=` prefix accepted.
- Casso v2: `X-Casso-Signature: t=<ms>,v1=<hex>`, HMAC-SHA512(secret, t + "." + the body's
  JSON with keys sorted recursively and compact separators).
- Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
  `webhook-signature: v1,<base64>`, HMAC-SHA256 over `id.timestamp.body` (the
  `standardwebhooks` package).
- VNPay IPN (sandbox.vnpayment.vn/apis/docs): HMAC-SHA512 (hex) over the `vnp_` query
  parameters except `vnp_SecureHash` / `vnp_SecureHashType`, sorted by name, each
  `name=form_quote(value)`, joined with `&`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from standardwebhooks.webhooks import Webhook

from solidarity.core.money import MoneyError, currency_exponent, transfer_implausible

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects a JSON notification may have (providers send 2-3)."""
TOLERANCE_SECONDS = 300
"""Largest difference between a signed timestamp and our clock (SePay, Casso, Standard)."""


class NotAuthentic(Exception):
    """The notification's authentication failed (bad or missing signature, stale time)."""


class Malformed(ValueError):
    """The notification is not a well-formed message of its protocol."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """One transaction as a provider notified it. `amount_minor` is positive (VND)."""

    provider_id: str
    direction: str  # "credit" or "debit"
    amount_minor: int
    currency: str
    occurred_at: datetime
    account: str
    bank_ref: str
    memo: str
    counterparty_name: str = ""
    counterparty_account: str = ""
    order_ref: str = ""
    campaign: str = ""
    donor_name: str = ""
    privacy: str = ""
    status_ok: bool = True


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _any_match(expected: Sequence[str], given: str) -> bool:
    ok = False
    for value in expected:
        ok |= hmac.compare_digest(value.encode(), given.encode())
    return ok


def _fresh(timestamp: float, now: float, tolerance: int = TOLERANCE_SECONDS) -> None:
    if abs(now - timestamp) > tolerance:
        raise NotAuthentic("timestamp outside the tolerance window")


TERMS = ("direction", "amount", "currency", "account", "campaign", "reference")
"""What a provider must report the same every time it notifies one transaction id."""


def transfer_terms(t: Transfer) -> dict[str, Any]:
    """The TERMS of `t`: a notification with the id of a stored one and other terms is a
    conflict (two transfers under one id, or a forgery), never a retry."""
    return {
        "direction": t.direction,
        "amount": t.amount_minor,
        "currency": t.currency,
        "account": t.account,
        "campaign": t.campaign,
        "reference": t.order_ref,
    }


def terms_differ(stored: Mapping[str, Any], received: Mapping[str, Any]) -> list[str]:
    """The names whose values differ between two sets of terms, in `stored`'s order then
    `received`'s (a name one side lacks differs)."""
    names = [*stored, *(k for k in received if k not in stored)]
    return [k for k in names if stored.get(k) != received.get(k)]


def terms_version(terms: Mapping[str, Any]) -> str:
    """A digest naming one set of terms (SHA-256 of its canonical JSON, hex)."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- SePay ---------------------------------------------------------------------------------


def sepay_sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over `timestamp + "." + body` (the rule this module defines)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sepay_verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, auth: str, now: float
) -> None:
    """Raise NotAuthentic unless the request carries a valid API key or HMAC signature."""
    h = _lower(headers)
    if auth == "apikey":
        given = h.get("authorization", "")
        if not given.startswith("Apikey ") or not _any_match(secrets, given[7:].strip()):
            raise NotAuthentic("bad or missing Apikey")
        return
    stamp = h.get("x-sepay-timestamp", "").strip()
    signature = h.get("x-sepay-signature", "").strip().removeprefix("sha256=")
    if not stamp.isdigit() or not signature:
        raise NotAuthentic("missing X-SePay-Timestamp or X-SePay-Signature")
    _fresh(int(stamp), now)
    if not _any_match([sepay_sign(s, stamp, body) for s in secrets], signature.lower()):
        raise NotAuthentic("bad signature")


def json_parse(body: bytes) -> Any:
    """The JSON value of `body`; Malformed when it is not JSON (UTF-8) or is nested deeper
    than MAX_JSON_DEPTH. Never raises anything else (a 30,000-deep array is refused, not a
    RecursionError)."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise Malformed(f"JSON nested deeper than {MAX_JSON_DEPTH}") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, a 5,000-digit number
        raise Malformed(f"not JSON: {exc}") from None
    # Depth cannot exceed the count of brackets: most bodies skip the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth(data) > MAX_JSON_DEPTH:
        raise Malformed(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return data


def _depth(value: Any) -> int:
    """Nesting depth of arrays and objects (a scalar 0), walked without recursion; stops
    counting once past MAX_JSON_DEPTH."""
    deepest = 0
    stack = [(value, 1)]
    while stack and deepest <= MAX_JSON_DEPTH:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _amount(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Malformed(f"{name}: not an amount")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Malformed(f"{name}: not a whole number of dong") from None
    return number


def amount_check(amount_minor: int, currency: str, name: str) -> int:
    """`amount_minor` (minor units of `currency`, signed) unless it cannot be a real
    transfer: zero, or its size past `money.transfer_implausible` (the one rule for statements
    and notifications alike); Malformed naming `name` otherwise (and for an unknown currency)."""
    try:
        currency_exponent(currency)
    except MoneyError as exc:
        raise Malformed(f"{name}: {exc}") from None
    if amount_minor == 0:
        raise Malformed(f"{name}: zero")
    if (why := transfer_implausible(abs(amount_minor), currency)) is not None:
        raise Malformed(f"{name}: {why}")
    return amount_minor


def _local_time(text: Any, name: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> datetime:
    try:
        return datetime.strptime(str(text), fmt).replace(tzinfo=VIETNAM_TZ)
    except ValueError:
        raise Malformed(f"{name}: expected {fmt}") from None


def sepay_parse(body: bytes) -> Transfer:
    """The transfer a SePay webhook reports (`transactionDate` is Vietnam time)."""
    data = json_parse(body)
    if not isinstance(data, dict):
        raise Malformed("expected a JSON object")
    missing = [
        k for k in ("id", "transferType", "transferAmount", "transactionDate") if k not in data
    ]
    if missing:
        raise Malformed(f"missing {', '.join(missing)}")
    kind = str(data["transferType"]).lower()
    if kind not in ("in", "out"):
        raise Malformed("transferType: expected in or out")
    amount = amount_check(
        _amount(data["transferAmount"], "transferAmount"), "VND", "transferAmount"
    )
    if amount < 0:
        raise Malformed("transferAmount: negative (transferType gives the direction)")
    return Transfer(
        provider_id=str(data["id"])[:120],
        direction="credit" if kind == "in" else "debit",
        amount_minor=amount,
        currency="VND",
        occurred_at=_local_time(data["transactionDate"], "transactionDate"),
        account=str(data.get("accountNumber") or ""),
        bank_ref=str(data.get("referenceCode") or "")[:64],
        memo=str(data.get("content") or data.get("description") or ""),
    )


# --- Casso v2 ------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def casso_canonical(data: Any) -> bytes:
    """The body as Casso signs it: keys sorted recursively, compact separators."""
    return json.dumps(_sorted(data), separators=(",", ":"), ensure_ascii=False).encode()


def casso_sign(secret: str, t: str, data: Any) -> str:
    message = t.encode() + b"." + casso_canonical(data)
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def casso_verify(
    headers: Mapping[str, str], data: Any, secrets: Sequence[str], *, now: float
) -> None:
    header = _lower(headers).get("x-casso-signature", "")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", "").strip(), parts.get("v1", "").strip().lower()
    if not t.isdigit() or not v1:
        raise NotAuthentic("missing or malformed X-Casso-Signature")
    _fresh(int(t) / 1000, now)
    if not _any_match([casso_sign(s, t, data) for s in secrets], v1):
        raise NotAuthentic("bad signature")


def casso_parse(data: Any) -> Transfer:
    """The transfer in a Casso v2 webhook (`data` is one transaction)."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise Malformed("expected {'data': {...}}")
    tx = data["data"]
    for key in ("id", "amount", "transactionDateTime"):
        if key not in tx:
            raise Malformed(f"data.{key} missing")
    amount = amount_check(_amount(tx["amount"], "data.amount"), "VND", "data.amount")
    return Transfer(
        provider_id=str(tx["id"])[:120],
        direction="credit" if amount > 0 else "debit",
        amount_minor=abs(amount),
        currency="VND",
        occurred_at=_local_time(tx["transactionDateTime"], "data.transactionDateTime"),
        account=str(tx.get("accountNumber") or ""),
        bank_ref=str(tx.get("reference") or "")[:64],
        memo=str(tx.get("description") or ""),
        counterparty_name=str(tx.get("counterAccountName") or ""),
        counterparty_account=str(tx.get("counterAccountNumber") or ""),
    )


# --- Standard Webhooks ---------------------------------------------------------------------


def standard_sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>` for one message (the package's own signer)."""
    stamp = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(msg_id=msg_id, timestamp=stamp, data=body.decode())


def standard_verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float
) -> None:
    h = _lower(headers)
    msg_id, stamp = h.get("webhook-id", ""), h.get("webhook-timestamp", "").strip()
    given = h.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or not given:
        raise NotAuthentic("missing webhook-id, webhook-timestamp or webhook-signature")
    _fresh(int(stamp), now)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise NotAuthentic("body is not UTF-8") from None
    offered = [s.partition(",")[2] for s in given.split() if s.startswith("v1,")]
    expected = [standard_sign(s, msg_id, int(stamp), text.encode())[3:] for s in secrets]
    if not any(_any_match(expected, o) for o in offered):
        raise NotAuthentic("bad signature")


def standard_parse(headers: Mapping[str, str], body: bytes) -> Transfer:
    """A gateway or partner payment: `{"type": "payment.succeeded", "data": {"id", "amount"
    (minor units), "currency", "occurred_at" (RFC 3339), "campaign" or "reference" (a
    donation intent), "donor_name", "privacy", "memo"}}`; other types are acknowledged and
    not booked (`status_ok` False)."""
    data = json_parse(body)
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise Malformed("expected {'type': ..., 'data': {...}}")
    d = data["data"]
    provider_id = str(d.get("id") or _lower(headers).get("webhook-id", ""))[:120]
    currency = str(d.get("currency") or "VND").upper()
    amount = amount_check(_amount(d.get("amount"), "data.amount"), currency, "data.amount")
    if amount < 0:
        raise Malformed("data.amount: must be positive")
    try:
        when = datetime.fromisoformat(str(d.get("occurred_at", "")).replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("data.occurred_at: expected RFC 3339") from None
    if when.tzinfo is None:
        raise Malformed("data.occurred_at: needs a time zone")
    return Transfer(
        provider_id=provider_id,
        direction="credit",
        amount_minor=amount,
        currency=currency,
        occurred_at=when,
        account="",
        bank_ref=str(d.get("bank_ref") or "")[:64],
        memo=str(d.get("memo") or ""),
        order_ref=str(d.get("reference") or "")[:40],
        campaign=str(d.get("campaign") or "")[:64],
        donor_name=str(d.get("donor_name") or "")[:120],
        privacy=str(d.get("privacy") or ""),
        status_ok=data.get("type") == "payment.succeeded",
    )


# --- VNPay IPN -----------------------------------------------------------------------------

VNPAY_UNSIGNED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})


_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def form_quote(value: str) -> str:
    """A value as application/x-www-form-urlencoded writes it (WHATWG URL §5.2, the bytes
    Python's `urllib.parse.quote_plus` gives): UTF-8, space as `+`, bytes outside
    `A-Za-z0-9_.-~` as `%XX` in uppercase hex."""
    return "".join(
        chr(b) if b in _FORM_SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in value.encode()
    )


def vnpay_sign(secret: str, params: Mapping[str, str]) -> str:
    """Hex HMAC-SHA512 over the sorted, URL-encoded `vnp_` parameters (VNPay 2.1.0)."""
    text = "&".join(
        f"{k}={form_quote(str(v))}"
        for k, v in sorted(params.items())
        if k.startswith("vnp_") and k not in VNPAY_UNSIGNED and v != ""
    )
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def vnpay_verify(params: Mapping[str, str], secrets: Sequence[str]) -> None:
    given = params.get("vnp_SecureHash", "").lower()
    if not given or not _any_match([vnpay_sign(s, params) for s in secrets], given):
        raise NotAuthentic("bad vnp_SecureHash")


def vnpay_parse(params: Mapping[str, str]) -> Transfer:
    """The payment a VNPay IPN reports; `vnp_Amount` is 100 × the VND amount."""
    for key in ("vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_ResponseCode"):
        if not params.get(key):
            raise Malformed(f"{key} missing")
    raw = _amount(params["vnp_Amount"], "vnp_Amount")
    if raw <= 0 or raw % 100:
        raise Malformed("vnp_Amount: not 100 × a whole number of dong")
    amount_check(raw // 100, "VND", "vnp_Amount")
    when = (
        _local_time(params["vnp_PayDate"], "vnp_PayDate", "%Y%m%d%H%M%S")
        if params.get("vnp_PayDate")
        else datetime.now(UTC)
    )
    ok = params["vnp_ResponseCode"] == "00" and params.get("vnp_TransactionStatus", "00") == "00"
    return Transfer(
        provider_id=params["vnp_TransactionNo"][:120],
        direction="credit",
        amount_minor=raw // 100,
        currency="VND",
        occurred_at=when,
        account="",
        bank_ref=params.get("vnp_BankTranNo", "")[:64],
        memo=params.get("vnp_OrderInfo", ""),
        order_ref=params["vnp_TxnRef"][:40],
        status_ok=ok,
    )
