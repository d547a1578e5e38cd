"""`solidarity campaign witness add|remove|list` and `solidarity campaign witness quorum`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from solidarity.console import campaign_arg, django_setup, print_json


def _vkey_arg(value: str) -> str:
    """A verifier key given as text, or the path of a file holding it."""
    if os.path.isfile(value):
        return Path(value).read_text().strip()
    return value.strip()


def cmd_witness_add(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.witnesses import log_witness_add

    w = log_witness_add(campaign=campaign_arg(args.slug), vkey=args.vkey, url=args.url)
    print(f"{w.name} added to the witnesses of {args.slug} (announced in its log)")
    return 0


def cmd_witness_remove(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.witnesses import log_witness_remove

    w = log_witness_remove(campaign=campaign_arg(args.slug), name=args.name)
    print(f"{w.name} removed from the witnesses of {args.slug} (announced in its log)")
    return 0


def cmd_witness_quorum(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.witnesses import log_witness_quorum_set

    policy = log_witness_quorum_set(campaign=campaign_arg(args.slug), quorum=args.n)
    print(f"{args.slug}: a checkpoint needs {policy.quorum} cosignatures (announced in its log)")
    return 0


def cmd_witness_list(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.witnesses import log_witness_summary

    summary = log_witness_summary(campaign_arg(args.slug))
    if args.json:
        print_json(summary)
        return 0
    print(
        f"quorum {summary['quorum']}, latest checkpoint with the quorum: "
        f"size {summary['cosigned_size']}"
    )
    for w in summary["witnesses"]:
        state = f"cosigned size {w['cosigned_size']}"
        if w["last_error"]:
            state += f"; last error: {w['last_error']}"
        print(f"{w['name']}  {w['url']}  {state}")
        print(f"  {w['vkey']}")
    return 0


def register(sub: Any) -> None:
    """Nothing at the top level: the commands live under `solidarity campaign witness`."""


def register_campaign(camp: Any) -> None:
    wit = camp.add_parser(
        "witness", help="the witnesses that cosign the campaign's log, and the quorum"
    ).add_subparsers(dest="witness_action", required=True)
    p = wit.add_parser("add", help="add a witness; announced in the log")
    p.add_argument("slug")
    p.add_argument("--vkey", type=_vkey_arg, required=True, help="its verifier key (type 0x04)")
    p.add_argument("--url", required=True, help="its submission prefix (http or https)")
    p.set_defaults(handler=cmd_witness_add)
    p = wit.add_parser("remove", help="remove a witness (by name or key); announced in the log")
    p.add_argument("slug")
    p.add_argument("name")
    p.set_defaults(handler=cmd_witness_remove)
    p = wit.add_parser("quorum", help="cosignatures a checkpoint needs; announced in the log")
    p.add_argument("slug")
    p.add_argument("n", type=int)
    p.set_defaults(handler=cmd_witness_quorum)
    p = wit.add_parser("list", help="the active witnesses and what they last cosigned")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_witness_list)
