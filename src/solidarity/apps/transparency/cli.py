"""`solidarity log ...`, `solidarity verify` and `solidarity verify-receipt`.

`verify` and `verify-receipt` are the auditor's and the donor's tools: they read only files
(or an http(s) URL) and the log's public key, and never touch Django or a database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from solidarity.console import CommandError, campaign_arg, django_setup, print_json, stop_event


def _vkey_arg(value: str) -> str:
    """A verifier key given as text, or the path of a file holding it."""
    if os.path.isfile(value):
        return Path(value).read_text().strip()
    return value.strip()


# --- sequencing --------------------------------------------------------------------------


def _print_results(results: list[Any], *, quiet_idle: bool) -> bool:
    ok = True
    for r in results:
        if r.error:
            ok = False
            print(f"log {r.slug}: FAILED {r.error}", file=sys.stderr, flush=True)
        elif r.busy:
            if not quiet_idle:
                print(f"log {r.slug}: another sequencer holds its lock; left to it", flush=True)
        elif r.appended or not quiet_idle:
            print(f"log {r.slug}: {r.size:,} entries (+{r.appended:,})", flush=True)
    return ok


def log_catch_up(slugs: list[str] | None = None) -> None:
    """Publish every queued entry of these logs now (after `demo` and imports)."""
    from solidarity.apps.transparency.sequencer import log_sequence_once

    if not _print_results(log_sequence_once(slugs=slugs), quiet_idle=False):
        raise CommandError("the public log could not be brought up to date (see above)")


def cmd_log_sequence(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.sequencer import log_sequence_forever, log_sequence_once

    if args.batch < 1 or args.interval <= 0:
        raise CommandError("--batch must be at least 1 and --interval above 0")
    if args.once:
        results = log_sequence_once(batch=args.batch, slugs=args.slug or None)
        return 0 if _print_results(results, quiet_idle=False) else 1
    from solidarity.apps.workers.services import heartbeat_start

    stop = stop_event(signal.SIGTERM, signal.SIGINT)
    heartbeat_start("sequencer")
    print(f"sequencing every {args.interval}s or {args.batch} entries", flush=True)
    log_sequence_forever(
        interval=args.interval,
        batch=args.batch,
        stop=stop,
        exit_with_parent=args.exit_with_parent,
        report=lambda results: _print_results(results, quiet_idle=True),
    )
    return 0


def cmd_log_status(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.logfiles import LogKeyError
    from solidarity.apps.transparency.models import LogHead, LogState
    from solidarity.apps.transparency.sequencer import (
        SequencerError,
        log_divergence,
        log_published_open,
    )
    from solidarity.core.tlog.tiles import TileError

    rows = []
    for row in LogState.objects.select_related("campaign").order_by("campaign__slug"):
        problem = None
        state = row
        try:
            state, store, current = log_published_open(row.campaign)
            if current is not None:
                found = log_divergence(state.campaign, state, store, current)
                problem = found.describe(state.campaign.slug) if found else None
                state.refresh_from_db(fields=["published_size", "published_at"])
        except (SequencerError, LogKeyError, TileError, OSError) as e:
            problem = str(e)
        size = LogHead.objects.filter(campaign=state.campaign).values_list("size", flat=True)
        entries = int(size.first() or 0)
        rows.append(
            {
                "campaign": state.campaign.slug,
                "origin": state.origin,
                "entries": entries,
                "published": state.published_size,
                "queued": max(0, entries - state.published_size),
                "published_at": state.published_at,
                "problem": problem,
            }
        )
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(
                f"{r['campaign']:<24} published {r['published']:>12,}  "
                f"queued {r['queued']:>8,}  {r['origin']}"
            )
            if r["problem"]:
                print(f"  REFUSED {r['problem']}", file=sys.stderr)
    return 1 if any(r["problem"] for r in rows) else 0


def cmd_log_rotate_key(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.logfiles import LogKeyError
    from solidarity.apps.transparency.rotation import log_key_rotate
    from solidarity.apps.transparency.sequencer import SequencerError

    campaign = campaign_arg(args.slug)
    try:
        old, new, index = log_key_rotate(campaign=campaign)
    except (SequencerError, LogKeyError, OSError) as e:
        raise CommandError(str(e)) from None
    print(f"log {args.slug}: now signed by {new}")
    print(f"  announced at entry {index} under {old}; the link is in keys.json")
    return 0


def cmd_log_vkey(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.logfiles import default_origin, signer_ensure
    from solidarity.apps.transparency.selectors import log_vkey

    campaign = campaign_arg(args.slug)
    vkey = log_vkey(campaign)
    if vkey is None:  # on the sequencer's host: the key is created with the log
        vkey = signer_ensure(campaign.slug, default_origin(campaign.slug)).verifier.vkey
    print(vkey)
    return 0


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def cmd_log_export(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.logfiles import log_dir, log_store, log_store_in_database
    from solidarity.apps.transparency.selectors import LogNotFound, log_info

    try:
        info = log_info(slug=args.slug)
    except LogNotFound as e:
        raise CommandError(str(e)) from None
    src, dest = log_dir(args.slug), Path(args.dir)
    # The checkpoint read above is written last: every tile it covers exists before it.
    checkpoint = info["checkpoint"].encode()
    copied = skipped = 0
    if log_store_in_database():
        store = log_store(args.slug)
        for name in store.paths():  # type: ignore[attr-defined]
            target = dest / name
            if name == "checkpoint" or (name != "keys.json" and target.exists()):
                skipped += name != "checkpoint"  # tiles are immutable: same path, same bytes
                continue
            data = store.read(name)
            if data is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                tmp.write_bytes(data)
                os.replace(tmp, target)
                copied += 1
    for path in [] if log_store_in_database() else sorted((src / "tile").rglob("*")):
        if not path.is_file() or ".tmp-" in path.name:
            continue
        target = dest / path.relative_to(src)
        if target.exists() and target.stat().st_size == path.stat().st_size:
            skipped += 1  # tiles are immutable: same path and size, same bytes
            continue
        _copy(path, target)
        copied += 1
    if (src / "keys.json").exists():  # key rotations: written before any checkpoint needing them
        _copy(src / "keys.json", dest / "keys.json")
    (dest / "vkey").write_text(info["vkey"] + "\n")
    tmp = dest / ".checkpoint.part"
    tmp.write_bytes(checkpoint)
    os.replace(tmp, dest / "checkpoint")
    print(
        f"exported {info['origin']} at size {info['size']:,} to {dest} "
        f"({copied:,} files copied, {skipped:,} already there)"
    )
    return 0


def _proof(fn: Any, **kw: Any) -> int:
    from solidarity.apps.transparency.selectors import LogNotFound, ProofRequestError

    try:
        print_json(fn(**kw))
    except (LogNotFound, ProofRequestError) as e:
        raise CommandError(str(e)) from None
    return 0


def cmd_log_proof(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.selectors import inclusion_proof_get

    return _proof(inclusion_proof_get, slug=args.slug, index=args.index, size=args.size)


def cmd_log_consistency(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.selectors import consistency_proof_get

    return _proof(consistency_proof_get, slug=args.slug, old=args.old, new=args.new)


def cmd_log_receipt(args: argparse.Namespace) -> int:
    django_setup()
    from solidarity.apps.transparency.selectors import LogNotFound, receipt_get

    try:
        found = receipt_get(slug=args.slug, ref=args.ref)
    except LogNotFound as e:
        raise CommandError(str(e)) from None
    if found.pending:
        raise CommandError(
            f"gift {args.ref} is booked but not yet in a published checkpoint; "
            "run `solidarity log sequence --once` or wait a few seconds"
        )
    text = json.dumps(found.as_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"receipt of {args.ref} (entry {found.index}) written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


# --- verification without Django -----------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from solidarity.core.tlog.verify import LogVerifyError, log_verify
    from solidarity.infra.logreaders import source_open

    since = Path(args.since).read_bytes() if args.since else None
    try:
        report = log_verify(
            source_open(args.location),
            _vkey_arg(args.vkey),
            since,
            origin=args.origin,
            workers=args.workers,
            witnesses=[_vkey_arg(w) for w in args.witness] if args.witness else None,
            quorum=args.quorum,
        )
    except LogVerifyError as e:
        if args.json:
            print_json({"ok": False, "where": e.where, "reason": e.reason})
        print(f"verify: FAILED {e.where}: {e.reason}", file=sys.stderr)
        return 2 if e.where == "vkey" else 1
    except (OSError, ValueError) as e:
        if args.json:
            print_json({"ok": False, "where": "source", "reason": str(e)})
        print(f"verify: FAILED reading {args.location}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print_json({"ok": True, **report.as_dict()})
        return 0
    print(f"log {report.origin}: {report.size:,} entries, root {report.root}")
    for currency, t in sorted(report.totals.items()):
        print(f"  {currency}  raised     {t['raised']:>22,}")
        print(f"  {currency}  reversed   {t['reversed']:>22,}  ({t['reversals']:,} gifts)")
        print(f"  {currency}  disbursed  {t['disbursed']:>22,}")
        print(f"  {currency}  balance    {t['balance']:>22,}")
        print(f"  {currency}  gifts      {t['gifts']:>22,}")
        if t["in_kind_gifts"] or t["in_kind_received"] or t["in_kind_handed_over"]:
            print(
                f"  {currency}  in kind    {t['in_kind_received']:>22,} received "
                f"({t['in_kind_gifts']:,} gifts), {t['in_kind_handed_over']:,} handed over"
            )
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(report.kinds.items()))
    print(f"  entries by kind: {kinds or '-'}")
    if report.since_size is not None:
        print(f"  consistent with the older checkpoint of size {report.since_size:,}")
    if report.quorum or report.cosigned_by:
        print(
            f"  cosigned by {len(report.cosigned_by)} of {len(report.witnesses)} witnesses "
            f"({', '.join(report.cosigned_by) or '-'}); {report.quorum} required"
        )
    print("verified: checkpoint signature, every tile and bundle, every entry, the totals")
    return 0


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    from solidarity.core.tlog.receipt import ReceiptError, receipt_check

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"verify-receipt: FAILED reading {args.file}: {e}", file=sys.stderr)
        return 1
    if not isinstance(data, dict):
        print("verify-receipt: FAILED the receipt is not a JSON object", file=sys.stderr)
        return 1
    witnesses = [_vkey_arg(w) for w in args.witness] if args.witness else None
    try:
        check = receipt_check(
            data, _vkey_arg(args.vkey), args.origin, witnesses=witnesses, quorum=args.quorum
        )
    except ReceiptError as e:
        print(f"verify-receipt: FAILED {e}", file=sys.stderr)
        return 1
    entry = check.entry
    if args.json:
        print_json(
            {
                "ok": True,
                "index": data["index"],
                "entry": entry,
                "quorum": check.quorum,
                "cosigned_by": list(check.cosigned_by),
            }
        )
        return 0
    amount = f"{entry['amount']:,} {entry['currency']}" if "amount" in entry else ""
    print(
        f"verified: entry {data['index']} ({entry['kind']} {entry.get('ref', '')} {amount}) "
        "is in the log signed by this key"
    )
    if check.quorum or check.cosigned_by:
        print(
            f"  cosigned by {len(check.cosigned_by)} witnesses "
            f"({', '.join(check.cosigned_by) or '-'}); {check.quorum} required"
        )
    return 0


# --- parser ------------------------------------------------------------------------------


def register_log(log: Any) -> None:
    p = log.add_parser("sequence", help="publish queued entries: a daemon, or --once")
    p.add_argument("--once", action="store_true", help="one pass: publish what is queued, exit")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
    p.add_argument("--batch", type=int, default=4096, help="entries per checkpoint at most")
    p.add_argument("--slug", action="append", help="only these campaigns (with --once)")
    p.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_log_sequence)
    p = log.add_parser("status", help="published and queued entries of every log")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_log_status)
    p = log.add_parser("rotate-key", help="sign with a new key, announced under the old one")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_log_rotate_key)
    p = log.add_parser("vkey", help="print the log's verifier key (signed-note vkey)")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_log_vkey)
    p = log.add_parser("export", help="copy the published files for any static host")
    p.add_argument("slug")
    p.add_argument("dir")
    p.set_defaults(handler=cmd_log_export)
    p = log.add_parser("proof", help="inclusion proof of an entry (RFC 9162 §2.1.3)")
    p.add_argument("slug")
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--size", type=int, help="tree size (default: the published checkpoint)")
    p.set_defaults(handler=cmd_log_proof)
    p = log.add_parser("consistency", help="consistency proof between sizes (RFC 9162 §2.1.4)")
    p.add_argument("slug")
    p.add_argument("--from", dest="old", type=int, required=True)
    p.add_argument("--to", dest="new", type=int, required=True)
    p.set_defaults(handler=cmd_log_consistency)
    p = log.add_parser("receipt", help="a gift's receipt (JSON), verifiable offline")
    p.add_argument("slug")
    p.add_argument("ref")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(handler=cmd_log_receipt)


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="verify a published log from its files (no database)")
    p.add_argument("location", help="a directory or an http(s) URL of the log's files")
    p.add_argument("--vkey", required=True, help="the log's verifier key, or a file holding it")
    p.add_argument("--origin", help="the log's origin (default: the key's name)")
    p.add_argument("--since", help="an older checkpoint file: prove the log only grew since")
    p.add_argument("--workers", type=int, default=1, help="processes checking the bundles")
    p.add_argument(
        "--witness",
        action="append",
        help="a witness's verifier key (type 0x04) to require instead of those the log announced",
    )
    p.add_argument(
        "--quorum", type=int, help="cosignatures required (default: as the log announced)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("verify-receipt", help="verify a gift's receipt offline (no database)")
    p.add_argument("file")
    p.add_argument("--vkey", required=True, help="the log's verifier key, or a file holding it")
    p.add_argument("--origin", help="the log's origin (default: the key's name)")
    p.add_argument(
        "--witness",
        action="append",
        help="a witness's verifier key (type 0x04) to require instead of the receipt's own",
    )
    p.add_argument(
        "--quorum", type=int, help="cosignatures required (default: the receipt's; 0: none)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_verify_receipt)
