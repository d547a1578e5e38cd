"""ISO 20022 cash-management statements: camt.053 (BankToCustomerStatement), camt.054
(BankToCustomerDebitCreditNotification) and camt.052 (BankToCustomerAccountReport), every
message version (`urn:iso:std:iso:20022:tech:xsd:camt.05N.001.NN`).

Read as a stream: a defusedxml parser (no DTD, no entities, no external references) feeds a
target that keeps only the entry being read, so memory stays flat whatever the file size
and every transaction knows the line its `<Ntry>` starts on. Per entry (camt.053 §Ntry):
`Amt@Ccy`, `CdtDbtInd`, `RvslInd`, `Sts` (only booked entries are yielded), `BookgDt` /
`ValDt` (`Dt` or `DtTm`), `AcctSvcrRef`; per `NtryDtls/TxDtls`: `Refs` (`AcctSvcrRef`,
`TxId`, `EndToEndId`), `RmtInf/Ustrd` (joined with spaces), `RltdPties` (`Dbtr`/`Cdtr`
names, `DbtrAcct`/`CdtrAcct` as IBAN or `Othr/Id`). An entry with several `TxDtls` that
all carry an amount yields one transaction per `TxDtls`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

from defusedxml import DefusedXmlException  # type: ignore[import-untyped,unused-ignore]
from defusedxml.ElementTree import (  # type: ignore[import-untyped,unused-ignore]
    DefusedXMLParser,
    ParseError,
)

from solidarity.core.matching import memo_normalize, reversal_ref_extract
from solidarity.core.statements.base import (
    VIETNAM_TZ,
    BankTransaction,
    Direction,
    ErrorLog,
    IdentityCounter,
    decimal_to_minor,
    parse_decimal,
)

_NAMESPACE = re.compile(
    r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)\}Document$"
)
_CONTAINERS = frozenset({"Stmt", "Rpt", "Ntfctn"})
_DIRECTIONS: dict[str, Direction] = {"CRDT": "credit", "DBIT": "debit"}
_CHUNK = 1 << 16

Path = tuple[str, ...]
_ACCT_KEYS: frozenset[Path] = frozenset(
    {
        ("Acct", "Id", "IBAN"),
        ("Acct", "Id", "Othr", "Id"),
        ("Acct", "Ccy"),
        ("Acct", "Svcr", "FinInstnId", "ClrSysMmbId", "MmbId"),
    }
)


@dataclass(slots=True)
class _Texts:
    """Texts of one element subtree by relative path: first value wins, lines beside."""

    line: int
    values: dict[Path, str] = field(default_factory=dict)
    lines: dict[Path, int] = field(default_factory=dict)
    ccy: dict[Path, str] = field(default_factory=dict)
    ustrd: list[str] = field(default_factory=list)

    def get(self, *path: str) -> str | None:
        return self.values.get(path)


@dataclass(slots=True)
class _Account:
    line: int = 0
    values: dict[Path, str] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _CamtTarget:
    """Parser target: tracks the element path and turns each finished `<Ntry>` into
    transactions appended to `out`."""

    def __init__(self, *, log: ErrorLog, bin_override: str | None) -> None:
        self.log = log
        self.bin_override = bin_override
        self.line_of: object = None  # set to the expat parser once built
        self.stack: list[str] = []
        self.text: list[str] = []
        self.kind: str | None = None
        self.account = _Account()
        self.container_depth = -1
        self.entry: _Texts | None = None
        self.entry_depth = -1
        self.txs: list[_Texts] = []
        self.tx_depth = -1
        self.out: list[BankTransaction] = []
        self.ids = IdentityCounter()

    def _line(self) -> int:
        return int(getattr(self.line_of, "CurrentLineNumber", 0))

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        depth = len(self.stack)
        self.stack.append(name)
        self.text.clear()
        if depth == 0:
            m = _NAMESPACE.match(tag)
            if m is None:
                raise self.log.fatal(
                    self._line(), "Document", f"root element {tag} is not an ISO 20022 camt.05x"
                )
            self.kind = f"camt.{m.group(1)}"
        elif name in _CONTAINERS and depth == 2:
            self.account = _Account(line=self._line())
            self.container_depth = depth
        elif name == "Ntry" and depth == self.container_depth + 1:
            self.entry = _Texts(line=self._line())
            self.entry_depth = depth
            self.txs = []
        elif name == "TxDtls" and self.entry is not None:
            self.txs.append(_Texts(line=self._line()))
            self.tx_depth = depth
        if name == "Amt" and "Ccy" in attrs:
            target = self._current()
            if target is not None:
                target.ccy[self._rel(target)] = attrs["Ccy"]

    def _current(self) -> _Texts | None:
        if self.entry is None:
            return None
        return self.txs[-1] if self.tx_depth >= 0 and self.txs else self.entry

    def _rel(self, target: _Texts) -> Path:
        base = self.tx_depth if target is not self.entry else self.entry_depth
        return tuple(self.stack[base + 1 :])

    def data(self, text: str) -> None:
        self.text.append(text)

    def end(self, tag: str) -> None:
        name = _local(tag)
        depth = len(self.stack) - 1
        value = "".join(self.text).strip()
        self.text.clear()
        if self.entry is not None and depth > self.entry_depth:
            if name == "TxDtls" and depth == self.tx_depth:
                self.tx_depth = -1
            elif value:
                target = self._current()
                assert target is not None
                rel = self._rel(target)
                if rel == ("RmtInf", "Ustrd"):
                    target.ustrd.append(value)
                elif rel not in target.values:
                    target.values[rel] = value
                    target.lines[rel] = self._line()
        elif name == "Ntry" and self.entry is not None and depth == self.entry_depth:
            self._entry_done(self.entry, self.txs)
            self.entry = None
            self.txs = []
        elif self.container_depth >= 0 and depth > self.container_depth and value:
            rel = tuple(self.stack[self.container_depth + 1 :])
            if rel in _ACCT_KEYS:
                self.account.values.setdefault(rel, value)
        elif name in _CONTAINERS and depth == self.container_depth:
            self.container_depth = -1
        self.stack.pop()

    def close(self) -> None:
        return None

    # -- entry to transactions -------------------------------------------------------------

    def _date(self, texts: _Texts, group: str, *, required: bool) -> datetime | None:
        for leaf in ("DtTm", "Dt"):
            raw = texts.get(group, leaf)
            if raw is None:
                continue
            line = texts.lines[(group, leaf)]
            try:
                if leaf == "Dt":
                    return datetime.combine(
                        date.fromisoformat(raw), datetime.min.time(), VIETNAM_TZ
                    )
                parsed = datetime.fromisoformat(raw)
            except ValueError:
                self.log.add(line, f"{group}/{leaf}", f"impossible date {raw!r}")
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM_TZ)
        if required:
            self.log.add(texts.line, group, "entry has no booking or value date")
        return None

    def _amount(self, texts: _Texts, path: Path) -> tuple[int, str] | None:
        raw = texts.values.get(path)
        if raw is None:
            return None
        line = texts.lines[path]
        ccy = texts.ccy.get(path)
        if ccy is None:
            self.log.add(line, "Amt", "amount without Ccy attribute")
            return None
        try:
            return decimal_to_minor(parse_decimal(raw), ccy), ccy
        except ValueError as e:
            self.log.add(line, "Amt", f"impossible amount {raw!r}: {e}")
            return None

    def _direction(self, texts: _Texts, fallback: Direction | None) -> Direction | None:
        raw = texts.get("CdtDbtInd")
        if raw is None:
            if fallback is None:
                self.log.add(texts.line, "CdtDbtInd", "missing credit/debit indicator")
            return fallback
        direction = _DIRECTIONS.get(raw)
        if direction is None:
            self.log.add(texts.lines[("CdtDbtInd",)], "CdtDbtInd", f"unknown indicator {raw!r}")
        return direction

    def _entry_done(self, entry: _Texts, txs: list[_Texts]) -> None:
        status = entry.get("Sts", "Cd") or entry.get("Sts")
        if status is not None and status != "BOOK":
            return  # pending or informational entries are not booked money
        acct = self.account.values
        account = acct.get(("Acct", "Id", "IBAN")) or acct.get(("Acct", "Id", "Othr", "Id"))
        if account is None:
            self.log.add(self.account.line, "Acct/Id", "statement account has no IBAN or Othr/Id")
            return
        amount = self._amount(entry, ("Amt",))
        direction = self._direction(entry, None)
        has_bookg = any(k[0] == "BookgDt" for k in entry.values)
        booked = (
            self._date(entry, "BookgDt", required=False)
            if has_bookg
            else self._date(entry, "ValDt", required=True)
        )
        value_dt = self._date(entry, "ValDt", required=False)
        if amount is None or direction is None or booked is None:
            if amount is None and entry.get("Amt") is None:
                self.log.add(entry.line, "Amt", "entry has no amount")
            return
        reversal = (entry.get("RvslInd") or "").lower() == "true"
        bin_ = self.bin_override
        if bin_ is None:
            mmb = acct.get(("Acct", "Svcr", "FinInstnId", "ClrSysMmbId", "MmbId"))
            bin_ = mmb if mmb and len(mmb) == 6 and mmb.isdigit() else None
        split = len(txs) > 1 and all(t.values.get(("Amt",)) for t in txs)
        parts: list[tuple[_Texts, tuple[int, str], Direction]] = []
        if split:
            signed_sum = 0
            same_ccy = True
            for t in txs:
                a = self._amount(t, ("Amt",))
                d = self._direction(t, direction)
                if a is None or d is None:
                    return
                parts.append((t, a, d))
                same_ccy &= a[1] == amount[1]
                signed_sum += a[0] if d == direction else -a[0]
            if same_ccy and signed_sum != amount[0]:
                self.log.add(entry.line, "TxDtls/Amt", "transaction details do not sum to entry")
                return
        else:
            parts.append((txs[0] if txs else _Texts(line=entry.line), amount, direction))
        entry_ref = entry.get("AcctSvcrRef")
        for index, (t, (minor, ccy), d) in enumerate(parts, start=1):
            if minor == 0:
                continue  # informational zero-amount entries move no money
            self._emit(
                account=account,
                bin_=bin_,
                entry=entry,
                tx=t,
                minor=minor,
                ccy=ccy,
                direction=d,
                booked=booked,
                value_date=value_dt.date() if value_dt else None,
                reversal=reversal,
                entry_ref=entry_ref,
                index=index if split else 0,
            )

    def _emit(
        self,
        *,
        account: str,
        bin_: str | None,
        entry: _Texts,
        tx: _Texts,
        minor: int,
        ccy: str,
        direction: Direction,
        booked: datetime,
        value_date: date | None,
        reversal: bool,
        entry_ref: str | None,
        index: int,
    ) -> None:
        memo = " ".join(tx.ustrd) or tx.get("AddtlTxInf") or entry.get("AddtlNtryInf") or ""
        memo = " ".join(memo.split())
        party = "Dbtr" if direction == "credit" else "Cdtr"
        name = tx.get("RltdPties", party, "Nm") or tx.get("RltdPties", party, "Pty", "Nm")
        cp_acct = tx.get("RltdPties", f"{party}Acct", "Id", "IBAN") or tx.get(
            "RltdPties", f"{party}Acct", "Id", "Othr", "Id"
        )
        tx_ref = tx.get("Refs", "AcctSvcrRef")
        tx_id = tx.get("Refs", "TxId")
        bank_ref = tx_ref or entry_ref or tx_id
        reverses = reversal_ref_extract(memo) if memo else None
        day = booked.date()
        unique_ref = (
            tx_ref
            or (entry_ref if not index else f"{entry_ref}#tx{index}" if entry_ref else None)
            or tx_id
        )
        if unique_ref:
            identity = self.ids.by_ref(
                account=account,
                ref=unique_ref,
                direction=direction,
                amount_minor=minor,
                currency=ccy,
                day=day,
            )
        else:
            identity = self.ids.by_content(
                account=account,
                ref=tx.get("Refs", "EndToEndId"),
                direction=direction,
                amount_minor=minor,
                currency=ccy,
                day=day,
                normalized_memo=memo_normalize(memo),
            )
        self.out.append(
            BankTransaction(
                account=account,
                bin=bin_,
                currency=ccy,
                amount_minor=minor,
                direction=direction,
                booked_at=booked,
                value_date=value_date,
                bank_ref=bank_ref,
                memo=memo,
                counterparty_name=" ".join(name.split()) if name else None,
                counterparty_account=cp_acct,
                is_reversal=reversal or reverses is not None,
                reverses_ref=reverses,
                source_format=self.kind or "camt",
                line=tx.line if index else entry.line,
                identity=identity,
            )
        )


def camt_read(
    stream: IO[bytes], *, log: ErrorLog, head: bytes = b"", bin_override: str | None = None
) -> Iterator[BankTransaction]:
    """Yield the booked transactions of a camt.05x document; errors go to `log`.

    `head` holds bytes already read from `stream` by format detection. Hostile or broken
    XML raises `StatementRejected` at once; other errors are left in `log` for the caller.
    """
    target = _CamtTarget(log=log, bin_override=bin_override)
    parser = DefusedXMLParser(
        target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    target.line_of = parser.parser
    chunk = head
    try:
        while True:
            if chunk:
                parser.feed(chunk)
                if target.out:
                    yield from target.out
                    target.out.clear()
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
        parser.close()
    except DefusedXmlException as e:
        raise log.fatal(
            target._line(), "xml", f"forbidden XML construct ({type(e).__name__}): {e}"
        ) from None
    except ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else target._line()
        raise log.fatal(line, "xml", f"not well-formed XML: {e}") from None
    except LookupError as e:  # the XML declaration names an encoding Python does not know
        raise log.fatal(target._line() or 1, "xml", f"unknown encoding: {e}") from None
    if target.kind is None:
        raise log.fatal(1, "Document", "no camt document element")
    yield from target.out
    target.out.clear()
