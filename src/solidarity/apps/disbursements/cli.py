"""`solidarity tranche ...`, `solidarity goods ...` and `solidarity report ...`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.utils import timezone

from solidarity.console import CommandError, campaign_arg, django_setup, print_json


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"--by {username!r}: no such user") from None


def _tranche(pk: int) -> Any:
    from solidarity.apps.disbursements.models import Tranche
    from solidarity.apps.disbursements.selectors import tranche_get

    try:
        return tranche_get(pk=pk)
    except Tranche.DoesNotExist:
        raise CommandError(f"no tranche {pk}") from None


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r}: use YYYY-MM-DD") from None


def _evidence(paths: list[str] | None, kind: str) -> list[Any]:
    from solidarity.apps.disbursements.services import EvidenceInput

    files = []
    for name in paths or ():
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"--evidence {name!r}: no such file")
        files.append(EvidenceInput(name=path.name, data=path.read_bytes(), kind=kind))
    return files


def _show(tranche: Any, as_json: bool) -> None:
    from solidarity.apps.disbursements.selectors import tranche_detail
    from solidarity.core.money import Money

    detail = tranche_detail(tranche)
    if as_json:
        print_json(detail)
        return
    amount = Money(detail["amount_minor"], detail["currency"])
    print(
        f"tranche {detail['id']} {detail['status']}: {amount} to {detail['recipient']} "
        f"({detail['approvals']}/{detail['approvals_required']} approvals)"
    )


def cmd_propose(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements.services import RateInput, tranche_propose
    from solidarity.core.money import Money, MoneyError
    from solidarity.core.tranches import item_parse

    campaign = campaign_arg(args.slug)
    by = _user(args.by)
    try:
        amount = Money.from_decimal(args.amount.replace("_", "").replace(",", ""), args.currency)
        items = [item_parse(spec, args.currency) for spec in args.item or ()]
    except MoneyError as exc:
        raise CommandError(str(exc)) from None
    rate = None
    if args.rate is not None:
        if not args.rate_currency or not args.rate_source:
            raise CommandError("--rate needs --rate-currency and --rate-source")
        try:
            value = Decimal(args.rate.replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise CommandError(f"--rate {args.rate!r} is not a number") from None
        rate = RateInput(
            rate=value,
            base=args.rate_currency.upper(),
            source=args.rate_source,
            on=(
                _date(args.rate_date, "--rate-date")
                or _date(args.date, "--date")
                or timezone.localdate()
            ),
        )
    tranche = tranche_propose(
        campaign=campaign,
        by=by,
        recipient=args.to,
        amount_minor=amount.minor,
        currency=args.currency,
        date=_date(args.date, "--date") or timezone.localdate(),
        purpose=args.purpose or "",
        rate=rate,
        items=items,
        evidence=_evidence(args.evidence, args.evidence_kind),
    )
    _show(tranche, args.json)
    return 0


def cmd_step(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements import services

    tranche = _tranche(args.id)
    by = _user(args.by)
    if args.step == "approve":
        tranche = services.tranche_approve(tranche=tranche, by=by, note=args.note or "")
    elif args.step == "reject":
        if not args.reason:
            raise CommandError("reject needs --reason")
        tranche = services.tranche_reject(tranche=tranche, by=by, reason=args.reason)
    elif args.step == "cancel":
        tranche = services.tranche_cancel(tranche=tranche, by=by, reason=args.reason or "")
    else:
        tranche = services.tranche_handover(
            tranche=tranche,
            by=by,
            evidence=_evidence(args.evidence, args.evidence_kind),
            note=args.note or "",
            handed_over_on=_date(args.date, "--date"),
        )
    _show(tranche, args.json)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements.selectors import tranche_detail, tranche_list

    campaign = campaign_arg(args.slug) if args.slug else None
    rows = [tranche_detail(t) for t in tranche_list(campaign=campaign, status=args.status)]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        print(
            f"{r['id']:>5} {r['campaign']:<16} {r['status']:<12} "
            f"{r['amount_minor']:>20,} {r['currency']} {r['approvals']}/"
            f"{r['approvals_required']} {r['recipient']}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    django_setup()
    _show(_tranche(args.id), True if args.json else not args.brief)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements.reports import Signatures, report_filename, report_render
    from solidarity.apps.disbursements.selectors import statement_build

    campaign = campaign_arg(args.slug)
    start = _date(args.date_from, "--from") or campaign.opens_at.date()
    end = _date(args.date_to, "--to") or timezone.localdate()
    if end < start:
        raise CommandError("--to is before --from")
    statement = statement_build(campaign=campaign, start=start, end=end)
    data = report_render(
        statement,
        args.format,
        args.lang,
        Signatures(prepared_by=args.prepared_by or "", approved_by=args.approved_by or ""),
    )
    out = Path(args.out or report_filename(statement, args.format))
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        return 0
    out.write_bytes(data)
    rec = statement.reconciliation
    print(
        f"wrote {out} ({len(data):,} bytes): opening {rec.opening:,} + gifts {rec.gifts:,} "
        f"- reversals {rec.reversals:,} - tranches {rec.tranches:,} = closing {rec.closing:,} "
        f"{statement.currency}" + ("" if rec.ok else " DOES NOT RECONCILE")
    )
    print(
        f"goods received {statement.goods_in_total:,}, handed over "
        f"{statement.goods_out_total:,} {statement.currency} (stated values, not in the balance)"
    )
    return 0 if rec.ok else 1


# --- goods received ---------------------------------------------------------------------


def _gift_json(gift: Any) -> dict[str, Any]:
    from solidarity.apps.disbursements.selectors import in_kind_gift_detail

    return in_kind_gift_detail(gift)


def _print_gift(row: dict[str, Any]) -> None:
    from solidarity.core.money import Money

    total = Money(row["total_minor"], row["currency"])
    print(
        f"{row['id']:>5} {row['campaign']:<16} {row['received_on']} {total} "
        f"from {row['donor']} ({len(row['items'])} kinds of goods) {row['log']['ref']}"
    )


def cmd_goods_receive(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements.services import in_kind_gift_record
    from solidarity.core.money import MoneyError
    from solidarity.core.tranches import item_parse

    campaign = campaign_arg(args.slug)
    by = _user(args.by)
    try:
        items = [item_parse(spec, campaign.currency) for spec in args.item]
    except MoneyError as exc:
        raise CommandError(str(exc)) from None
    gift = in_kind_gift_record(
        campaign=campaign,
        by=by,
        donor=args.donor or "",
        donor_kind="person" if args.person else "organization",
        privacy=args.privacy,
        received_on=_date(args.date, "--date") or timezone.localdate(),
        items=items,
        note=args.note or "",
        evidence=_evidence(args.evidence, args.evidence_kind),
    )
    row = _gift_json(gift)
    if args.json:
        print_json(row)
    else:
        _print_gift(row)
    return 0


def cmd_goods_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.disbursements.selectors import in_kind_gift_detail, in_kind_gift_list

    campaign = campaign_arg(args.slug) if args.slug else None
    rows = [in_kind_gift_detail(g) for g in in_kind_gift_list(campaign=campaign)]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        _print_gift(row)
    return 0


def cmd_goods_import(args: argparse.Namespace) -> int:
    """All or nothing: every problem is printed as FILE:LINE: FIELD: message (exit 2)."""
    django_setup()
    from solidarity.apps.disbursements.services import EvidenceInput, in_kind_gifts_import
    from solidarity.core.money import LANGUAGE_LOCALES
    from solidarity.core.tranches import goods_csv_parse

    campaign = campaign_arg(args.slug)
    by = _user(args.by)
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{args.file}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{args.file}: not UTF-8 text (byte {exc.start})") from None
    gifts, errors = goods_csv_parse(
        text, file=path.name, currency=campaign.currency, locale=LANGUAGE_LOCALES[args.lang]
    )
    if errors:
        raise CommandError(
            f"{path.name}: refused, nothing was recorded:\n" + "\n".join(str(e) for e in errors)
        )
    evidence = {}
    for gift in gifts:
        for name in gift.evidence:
            file = path.parent / name
            if file.is_file() and file.resolve().is_relative_to(path.parent.resolve()):
                evidence[name] = EvidenceInput(file.name, file.read_bytes(), "delivery_note")
    recorded = in_kind_gifts_import(
        campaign=campaign, by=by, file=path.name, gifts=gifts, evidence=evidence
    )
    if args.json:
        print_json([_gift_json(g) for g in recorded])
    else:
        total = sum(g.total_minor for g in recorded)
        print(
            f"recorded {len(recorded)} gifts of goods from {path.name}, "
            f"worth {total:,} {campaign.currency}"
        )
    return 0


def _register_goods(sub: Any) -> None:
    goods = sub.add_parser("goods", help="goods given to a campaign").add_subparsers(
        dest="action", required=True
    )
    p = goods.add_parser("receive", help="record goods received (values in major units)")
    p.add_argument("slug")
    p.add_argument("--by", required=True, metavar="USER")
    p.add_argument("--donor", help="an organization's name, or a person's (see --privacy)")
    p.add_argument(
        "--person", action="store_true", help="the donor is a person, published per --privacy"
    )
    p.add_argument(
        "--privacy",
        default="masked",
        choices=("named", "masked", "anonymous"),
        help="how a person's name is published (default masked)",
    )
    p.add_argument("--item", action="append", required=True, metavar="NAME:QTY:UNIT:VALUE")
    p.add_argument("--date", help="the day received, YYYY-MM-DD (default: today)")
    p.add_argument("--note")
    p.add_argument("--evidence", action="append", metavar="FILE")
    p.add_argument("--evidence-kind", default="delivery_note", choices=("delivery_note", "other"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_goods_receive)
    p = goods.add_parser("list", help="goods received, newest first")
    p.add_argument("slug", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_goods_list)
    p = goods.add_parser("import", help="goods received from a CSV file, all or nothing")
    p.add_argument("slug")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--by", required=True, metavar="USER")
    p.add_argument(
        "--lang",
        default="vi",
        choices=("vi", "en", "es", "pt-br"),
        help="how the file writes numbers (vi: 10.000 and 2,5; en: 10,000 and 2.5)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_goods_import)


def register(sub: Any) -> None:
    _register_goods(sub)
    tr = sub.add_parser("tranche", help="propose, approve and hand over tranches").add_subparsers(
        dest="action", required=True
    )
    p = tr.add_parser("propose", help="propose a tranche (amount in major units)")
    p.add_argument("slug")
    p.add_argument("--by", required=True, metavar="USER")
    p.add_argument("--amount", required=True, help="major units, e.g. 385000000000; 0 for goods")
    p.add_argument("--currency", required=True)
    p.add_argument("--to", required=True, metavar="ORG", help="recipient organization")
    p.add_argument("--purpose")
    p.add_argument("--date", help="YYYY-MM-DD (default: today)")
    p.add_argument("--rate", help="units of --currency per one --rate-currency, e.g. 26370")
    p.add_argument("--rate-currency", metavar="C2")
    p.add_argument("--rate-source")
    p.add_argument("--rate-date")
    p.add_argument("--item", action="append", metavar="NAME:QTY:UNIT:VALUE")
    p.add_argument("--evidence", action="append", metavar="FILE")
    p.add_argument(
        "--evidence-kind", default="other", choices=("handover_minutes", "transfer_order", "other")
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_propose)
    for step in ("approve", "reject", "cancel", "handover"):
        p = tr.add_parser(step)
        p.add_argument("id", type=int)
        p.add_argument("--by", required=True, metavar="USER")
        p.add_argument("--note")
        p.add_argument("--reason")
        p.add_argument("--json", action="store_true")
        if step == "handover":
            p.add_argument(
                "--date", help="the day it was handed over, YYYY-MM-DD (default: as proposed)"
            )
            p.add_argument("--evidence", action="append", metavar="FILE")
            p.add_argument(
                "--evidence-kind",
                default="handover_minutes",
                choices=("handover_minutes", "transfer_order", "other"),
            )
        p.set_defaults(handler=cmd_step, step=step)
    p = tr.add_parser("list")
    p.add_argument("slug", nargs="?")
    p.add_argument("--status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)
    p = tr.add_parser("show")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--brief", action="store_true", help="one line instead of JSON")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("report", help="a campaign's statement as PDF, CSV or XLSX")
    p.add_argument("slug")
    p.add_argument("--from", dest="date_from", help="YYYY-MM-DD (default: the opening day)")
    p.add_argument("--to", dest="date_to", help="YYYY-MM-DD, inclusive (default: today)")
    p.add_argument("--format", default="pdf", choices=("pdf", "csv", "xlsx"))
    p.add_argument(
        "--out", help="file to write (default: <slug>-<from>-<to>.<format>; - for stdout)"
    )
    p.add_argument("--lang", default="vi", choices=("vi", "en", "es", "pt-br"))
    p.add_argument("--prepared-by", metavar="NAME", help="printed on the signature block")
    p.add_argument("--approved-by", metavar="NAME", help="printed on the signature block")
    p.set_defaults(handler=cmd_report)
