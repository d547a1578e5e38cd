"""`solidarity partners …`: partners of the API and their keys."""

from __future__ import annotations

import argparse
from typing import Any

from solidarity.console import CommandError, django_setup, print_json


def cmd_partners_add(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.partners.services import PartnerError, partner_add

    try:
        partner, key = partner_add(name=args.name, scopes=args.scope, rate_per_minute=args.rate)
    except PartnerError as exc:
        raise CommandError(str(exc)) from None
    print(f"partner {partner.name}: scopes {', '.join(partner.scopes)}")
    print(f"API key (shown once): {key}")
    return 0


def cmd_partners_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.partners.selectors import partners_list

    rows = [
        {
            "name": p.name,
            "scopes": p.scopes,
            "rate_per_minute": p.rate_per_minute,
            "active": p.active,
            "keys": [
                {"prefix": k.prefix, "revoked": k.revoked_at is not None} for k in p.keys.all()
            ],
        }
        for p in partners_list()
    ]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        keys = ", ".join(k["prefix"] + ("(revoked)" if k["revoked"] else "") for k in r["keys"])
        state = "active" if r["active"] else "revoked"
        scopes = ",".join(r["scopes"])
        print(f"{r['name']:<20} {scopes:<28} {r['rate_per_minute']:>6}/min {state} {keys}")
    return 0


def cmd_partners_revoke(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.partners.models import Partner
    from solidarity.apps.partners.services import partner_revoke

    try:
        partner = Partner.objects.get(name=args.name)
    except Partner.DoesNotExist:
        raise CommandError(f"no partner {args.name!r}") from None
    partner_revoke(partner=partner)
    print(f"partner {args.name} and its keys revoked")
    return 0


def register(subparsers: Any) -> None:
    partners = subparsers.add_parser("partners", help="partner API keys").add_subparsers(
        dest="action", required=True
    )
    p = partners.add_parser("add", help="a partner and its API key (shown once)")
    p.add_argument("name")
    p.add_argument(
        "--scope", action="append", required=True, choices=["intents:write", "gifts:write"]
    )
    p.add_argument("--rate", type=int, default=600, help="requests per minute per key")
    p.set_defaults(handler=cmd_partners_add)
    p = partners.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_partners_list)
    p = partners.add_parser("revoke")
    p.add_argument("name")
    p.set_defaults(handler=cmd_partners_revoke)
