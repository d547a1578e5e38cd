"""The `solidarity` command. Every subcommand reads the same configuration as the web app.

Each handler parses its arguments, calls one service or selector, and prints the result.
Exit codes: 0 success, 1 a check found a problem, 2 the request was refused.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import secrets
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from solidarity.console import CommandError, campaign_arg, django_setup, print_json

Handler = Callable[[argparse.Namespace], int]


# --- init, serve, demo -------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create the state directory, secrets and database; safe to run again."""
    django_setup()
    from django.core.management import call_command

    from solidarity import config

    home = config.home()
    config.secret_file("django_secret_key")
    call_command("migrate", interactive=False, verbosity=0)
    if not args.no_static:
        call_command("collectstatic", interactive=False, verbosity=0)
    _init_hooks()
    print(f"initialised {home}")
    return 0


def _init_hooks() -> None:
    """Per-feature initialisation that `init` must run: each module's `init()`, in order."""
    for module in INIT_MODULES:
        importlib.import_module(module).init()


# Modules with an `init()` that `solidarity init` runs (signing keys, webhook secrets, ...).
INIT_MODULES: list[str] = [
    "solidarity.apps.transparency.logfiles",
    "solidarity.web.metrics",
]


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve with Granian (worker processes with threads) beside the sequencer and the booker,
    restarting whichever dies, until SIGTERM or Ctrl-C."""
    from solidarity.web.server import PortInUse, server_run

    print(f"serving http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server_run(
            host=args.host,
            port=args.port,
            workers=args.workers,
            threads=args.threads,
            access_log=args.access_log,
        )
    except PortInUse as exc:
        raise CommandError(exc.strerror) from None
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.donations.demo import demo_load
    from solidarity.apps.ledger.selectors import campaign_totals

    started = datetime.now(UTC)

    def progress(done: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  booked {done:,}/{args.gifts:,} gifts", end="", file=sys.stderr)

    campaign = demo_load(gifts=args.gifts, seed=args.seed, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    from solidarity.apps.disbursements.demo import demo_handovers

    demo_handovers(campaign=campaign)  # goods received, a tranche in money and one in kind
    from solidarity.apps.transparency.cli import log_catch_up

    log_catch_up([campaign.slug])  # the public log holds every gift before we report
    totals = campaign_totals(campaign=campaign)
    seconds = (datetime.now(UTC) - started).total_seconds()
    print(
        f"demo campaign {campaign.slug}: {totals['donation_count']:,} gifts, "
        f"raised {totals['raised_minor']:,} {campaign.currency}, "
        f"disbursed {totals['disbursed_minor']:,} {campaign.currency} in {seconds:.1f}s"
    )
    return 0


# --- campaigns ---------------------------------------------------------------------------


def _parse_account(text: str) -> Any:
    from solidarity.apps.campaigns.services import AccountInput
    from solidarity.core.banks import BankAccountError, account_parse

    try:
        account = account_parse(text)
    except BankAccountError as exc:
        raise CommandError(f"--account {text[:80]!r}: {exc}") from None
    return AccountInput(account.bin, account.number, account.holder or "")


def cmd_campaign_create(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.announcements import campaign_create
    from solidarity.core.money import Money, MoneyError

    try:
        goal = Money.from_decimal(Decimal(args.goal.replace("_", "")), args.currency)
    except (MoneyError, ArithmeticError) as exc:
        raise CommandError(f"--goal {args.goal!r}: {exc}") from None
    try:
        opens = datetime.fromisoformat(args.opens) if args.opens else datetime.now(UTC)
    except ValueError:
        raise CommandError(
            f"--opens {args.opens!r}: use ISO 8601, e.g. 2025-08-25T08:00+07:00"
        ) from None
    if opens.tzinfo is None:
        raise CommandError("--opens needs a time zone offset, e.g. 2025-08-25T08:00+07:00")
    names = {"vi": args.name}
    for item in args.name_in or ():
        lang, _, text = item.partition("=")
        names[lang.lower()] = text
    campaign = campaign_create(
        slug=args.slug,
        code=args.code,
        names=names,
        goal_minor=goal.minor,
        currency=args.currency,
        opens_at=opens,
        days=args.days,
        keywords=args.keyword or (),
        accounts=[_parse_account(a) for a in args.account or ()],
        beneficiary=args.beneficiary or "",
        approvals_required=args.approvals,
    )
    print(f"created campaign {campaign.slug} (draft)")
    return 0


def cmd_campaign_status(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.campaigns.services import campaign_status_set

    campaign = campaign_status_set(campaign=campaign_arg(args.slug), status=args.status)
    print(f"campaign {campaign.slug} is {campaign.status}")
    return 0


def cmd_campaign_close_due(args: argparse.Namespace) -> int:
    """Close every open campaign past its closing time (for cron or a timer)."""
    django_setup()
    from solidarity.apps.campaigns.services import campaigns_close_due

    closed = campaigns_close_due()
    print(f"closed: {', '.join(closed)}" if closed else "no campaign is past its closing time")
    return 0


def cmd_campaign_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.campaigns.models import Campaign

    rows = [
        {"slug": c.slug, "status": c.status, "name": c.text("names", "vi"), "code": c.code}
        for c in Campaign.objects.order_by("slug")
    ]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['slug']:<24} {row['status']:<7} {row['code']:<8} {row['name']}")
    return 0


def cmd_campaign_show(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.ledger.selectors import campaign_totals

    c = campaign_arg(args.slug)
    print_json(
        {
            "slug": c.slug,
            "code": c.code,
            "keywords": c.keywords,
            "names": c.names,
            "descriptions": c.descriptions,
            "beneficiary": c.beneficiary,
            "status": c.status,
            "accounts": [
                {"bin": a.bin, "number": a.number, "holder": a.holder} for a in c.accounts.all()
            ],
            "totals": campaign_totals(campaign=c),
        }
    )
    return 0


def cmd_campaign_totals(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.ledger.selectors import campaign_totals
    from solidarity.core.money import Money, money_format

    totals = campaign_totals(campaign=campaign_arg(args.slug))
    if args.json:
        print(json.dumps(totals, ensure_ascii=False, sort_keys=True))
        return 0
    cur = totals["currency"]
    for key in ("goal_minor", "raised_minor", "disbursed_minor", "balance_minor"):
        print(f"{key[:-6]:<10} {money_format(Money(totals[key], cur), args.locale)}")
    for key in ("donation_count", "donor_count", "reversal_count", "review_count"):
        print(f"{key[:-6]:<10} {totals[key]:,}")
    print(f"goal reached at {totals['goal_reached_at'] or '-'}")
    return 0


# --- users, ledger -----------------------------------------------------------------------


def cmd_user_add(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.accounts.services import totp_enrol, user_add, user_needs_otp

    generated = False
    if sys.stdin.isatty():
        password = getpass.getpass("password (empty: generate one): ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        password, generated = secrets.token_urlsafe(15), True
    user = user_add(username=args.username, role=args.role, password=password, email=args.email)
    print(f"user {user.username} added with role {args.role}")
    if generated:
        print(f"password (shown once): {password}")
    if user_needs_otp(user):
        _totp_show(totp_enrol(user=user).uri, qr=not args.no_qr)
    return 0


def _totp_show(uri: str, *, qr: bool) -> None:
    """Print the otpauth:// URI (and a terminal QR code) of a newly enrolled TOTP device."""
    print("TOTP device enrolled; add it to an authenticator app (shown once):")
    print(uri)
    if qr:
        import segno

        segno.make(uri, error="m").terminal(compact=True)


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"no user {username!r}") from None


def cmd_user_totp(args: argparse.Namespace) -> int:
    """Enrol a new TOTP device for a person; any earlier device stops working."""
    django_setup()
    from solidarity.apps.accounts.services import totp_enrol

    _totp_show(totp_enrol(user=_user(args.username)).uri, qr=not args.no_qr)
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """Lift a login lockout (django-axes) for a username, from every address."""
    django_setup()
    from axes.utils import reset

    _user(args.username)
    count = reset(username=args.username)
    print(f"{args.username}: {count} failed-login record(s) cleared; logins are allowed again")
    return 0


def cmd_audit_list(args: argparse.Namespace) -> int:
    """The newest entries of the audit trail of back-office changes."""
    django_setup()
    from solidarity.apps.accounts.selectors import audit_list

    rows = audit_list(limit=args.limit, username=args.user or "", action=args.action_prefix or "")
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(
            f"{row['at'][:19]}  {row['username'] or '-':<16} {row['via']:<6} "
            f"{row['action']:<32} {row['target']:<32} {row['ip']}"
        )
    return 0


def cmd_ledger_check(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.banking.check import ledger_check

    report = ledger_check()
    if args.json:
        print_json({"ok": report.ok, "problems": report.problems, "campaigns": report.campaigns})
    else:
        for problem in report.problems:
            print(f"MISMATCH {problem}")
        print("ledger check: " + ("clean" if report.ok else f"{len(report.problems)} problems"))
    return 0 if report.ok else 1


# --- status ------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    """Readiness as `/readyz` computes it, for an operator; exit 1 when not ready."""
    django_setup()
    from solidarity.web.health import readiness

    state = readiness()
    if args.json:
        print_json(state.as_json())
        return 0 if state.ready else 1
    print("ready" if state.ready else "NOT READY")
    for reason in state.reasons:
        print(f"  - {reason}")
    for check in state.checks:
        print(f"{check.name}: {'ok' if check.ok else 'FAILING'}")
        for key, value in check.values.items():
            print(f"  {key:<34} {float(value):,.1f}")
    return 0 if state.ready else 1


# --- donors ------------------------------------------------------------------------------


def cmd_donor_erase(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.donations.services import donation_erase

    erased = donation_erase(public_ref=args.ref, by=args.by or getpass.getuser())
    ref = args.ref.strip().upper()
    if args.json:
        print_json({"ref": ref, "erased": erased})
    else:
        print(f"{ref}: private record erased" if erased else f"{ref}: already erased")
    return 0


# --- parser ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="solidarity", description="Donation campaigns with books anyone can check."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create the state directory, secrets and database")
    p.add_argument("--no-static", action="store_true", help="skip collecting static files")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("serve", help="serve the web app (Granian) with the sequencer and booker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("demo", help="load the demo campaign with generated gifts")
    p.add_argument("--gifts", type=int, default=350_000)
    p.add_argument("--seed", type=int, default=2025)
    p.set_defaults(handler=cmd_demo)

    camp = sub.add_parser("campaign", help="create and manage campaigns").add_subparsers(
        dest="action", required=True
    )
    p = camp.add_parser("create")
    p.add_argument("--slug", required=True)
    p.add_argument("--code", required=True, help="memo code, e.g. CUBA")
    p.add_argument("--name", required=True, help="name in Vietnamese")
    p.add_argument("--name-in", action="append", metavar="LANG=TEXT", help="name in en/es/pt-br")
    p.add_argument("--goal", required=True, help="goal in major units, e.g. 65000000000")
    p.add_argument("--currency", default="VND")
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--opens", help="ISO 8601 with offset (default: now)")
    p.add_argument(
        "--account",
        action="append",
        metavar="BANK:NUMBER[:HOLDER]",
        help="a receiving account; BANK is a NAPAS BIN (970436), a bank code (VCB, VBSP) "
        "or a SWIFT/BIC",
    )
    p.add_argument("--keyword", action="append")
    p.add_argument("--beneficiary")
    p.add_argument("--approvals", type=int, default=2, help="approvals a tranche needs")
    p.set_defaults(handler=cmd_campaign_create)
    for action, status in (("open", "open"), ("close", "closed")):
        p = camp.add_parser(action)
        p.add_argument("slug")
        p.set_defaults(handler=cmd_campaign_status, status=status)
    p = camp.add_parser("close-due", help="close the open campaigns past their closing time")
    p.set_defaults(handler=cmd_campaign_close_due)
    p = camp.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_campaign_list)
    p = camp.add_parser("show")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_campaign_show)
    p = camp.add_parser("totals")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true")
    p.add_argument("--locale", default="vi")
    p.set_defaults(handler=cmd_campaign_totals)

    users = sub.add_parser("user", help="people and roles").add_subparsers(
        dest="action", required=True
    )
    p = users.add_parser("add", help="password from standard input, or generated")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=("admin", "accountant", "approver", "auditor"))
    p.add_argument("--email", default="")
    p.add_argument("--no-qr", action="store_true", help="print only the otpauth:// URI")
    p.set_defaults(handler=cmd_user_add)
    p = users.add_parser("totp", help="enrol a new TOTP device (admins and approvers)")
    p.add_argument("username")
    p.add_argument("--no-qr", action="store_true", help="print only the otpauth:// URI")
    p.set_defaults(handler=cmd_user_totp)
    p = users.add_parser("unlock", help="lift a login lockout after failed passwords")
    p.add_argument("username")
    p.set_defaults(handler=cmd_user_unlock)

    audit = sub.add_parser("audit", help="the audit trail of back-office changes")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    p = audit_sub.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--user", help="only this username")
    p.add_argument("--action", dest="action_prefix", help="only actions starting with this")
    p.set_defaults(handler=cmd_audit_list)

    p = sub.add_parser("status", help="readiness: workers, log and booking backlogs (exit 1: not)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    led = sub.add_parser("ledger", help="the books").add_subparsers(dest="action", required=True)
    p = led.add_parser("check", help="recompute totals from the postings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ledger_check)

    donor = sub.add_parser("donor", help="donors' private records").add_subparsers(
        dest="action", required=True
    )
    p = donor.add_parser(
        "erase", help="delete a gift's private record (name, account, memo, salt); log unchanged"
    )
    p.add_argument("ref", help="the gift's public reference")
    p.add_argument("--by", help="who asked or erased (recorded in the log line)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_donor_erase)

    log = sub.add_parser("log", help="the public transparency log").add_subparsers(
        dest="action", required=True
    )
    for name in EXTENSION_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
        # A module may also add `solidarity campaign <action>` and `solidarity log <action>`.
        if hasattr(module, "register_campaign"):
            module.register_campaign(camp)
        if hasattr(module, "register_log"):
            module.register_log(log)
    return parser


# Each feature's subcommands live beside it: a module with `register(subparsers)` whose
# handlers take the parsed arguments and return an exit code. One line per module.
EXTENSION_MODULES: list[str] = [
    "solidarity.apps.disbursements.cli",
    "solidarity.apps.imports.cli",
    "solidarity.apps.donations.cli",
    "solidarity.apps.transparency.cli",
    "solidarity.apps.feeds.cli",
    "solidarity.apps.partners.cli",
    "solidarity.backup",
    "solidarity.apps.transparency.witness_cli",
    "solidarity.witness.cli",
]


# Commands that change data, by (command, action): each run that is not refused appends a
# row to the audit trail (who: --by, else the operating-system user; from where: the host).
AUDITED_COMMANDS = frozenset(
    {
        ("campaign", "create"),
        ("campaign", "open"),
        ("campaign", "close"),
        ("campaign", "close-due"),
        ("campaign", "witness"),
        ("demo", None),
        ("user", "add"),
        ("user", "totp"),
        ("user", "unlock"),
        ("import", None),
        ("review", "assign"),
        ("review", "reject"),
        ("review", "post-return"),
        ("tranche", "propose"),
        ("tranche", "approve"),
        ("tranche", "reject"),
        ("tranche", "cancel"),
        ("tranche", "handover"),
        ("feeds", "add"),
        ("feeds", "rotate"),
        ("feeds", "revoke"),
        ("notifications", "process"),
        ("notifications", "flag-unconfirmed"),
        ("partners", "add"),
        ("partners", "revoke"),
        ("notifications", "resolve-conflict"),
        ("donor", "erase"),
        ("goods", "receive"),
        ("goods", "import"),
        ("log", "recover"),
        ("log", "rotate-key"),
    }
)


def _redacted(argv: Sequence[str]) -> list[str]:
    """argv with the value of every --secret option replaced: secrets never enter the trail."""
    out: list[str] = []
    hide = False
    for arg in argv:
        if hide:
            out.append("***")
            hide = False
        elif arg == "--secret":
            out.append(arg)
            hide = True
        elif arg.startswith("--secret="):
            out.append("--secret=***")
        else:
            out.append(arg)
    return out


def _audit(args: argparse.Namespace, argv: Sequence[str], code: int) -> None:
    key = (args.command, getattr(args, "action", None))
    if key not in AUDITED_COMMANDS or code == 2 or getattr(args, "dry_run", False):
        return
    from solidarity.apps.accounts.models import AuditEvent
    from solidarity.apps.accounts.services import audit_record

    by = getattr(args, "by", None)
    audit_record(
        via=AuditEvent.Via.CLI,
        action="cli." + ".".join(k for k in key if k),
        username=by or f"os:{getpass.getuser()}",
        target=str(getattr(args, "username", "") or getattr(args, "slug", "") or ""),
        detail={"argv": _redacted(argv), "exit": code},
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["witness"]:
        # A witness operator may have installed only what the witness needs: no Django.
        from solidarity.witness.cli import main as witness_main

        return witness_main(argv[1:])
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        code = handler(args)
        _audit(args, argv, code)
        return code
    except CommandError as exc:
        print(f"solidarity: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        for error in errors:
            print(f"solidarity: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
