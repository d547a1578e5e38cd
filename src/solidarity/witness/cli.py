"""`solidarity witness init|serve|evidence`: run a witness without Django or a database.

Imports nothing of the campaign application (not even solidarity.cli): refusals print to
stderr and exit 2 here."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from solidarity.core.tlog.note import NoteError, Verifier, verifier_parse
from solidarity.witness.server import WitnessServer
from solidarity.witness.store import WitnessError, WitnessStore, evidence_list, witness_init


def _log_vkey(value: str) -> Verifier:
    text = Path(value).read_text().strip() if os.path.isfile(value) else value.strip()
    try:
        return verifier_parse(text)
    except NoteError as e:
        raise argparse.ArgumentTypeError(f"--log {value!r}: {e}") from None


def _refuse(message: str) -> int:
    print(f"solidarity: {message}", file=sys.stderr)
    return 2


def cmd_witness_init(args: argparse.Namespace) -> int:
    try:
        vkey = witness_init(Path(args.dir), args.name)
    except (WitnessError, OSError) as e:
        return _refuse(str(e))
    print(f"witness key written to {Path(args.dir) / 'witness.key'} (keep it secret)")
    print(vkey)
    return 0


def cmd_witness_serve(args: argparse.Namespace) -> int:
    try:
        store = WitnessStore(Path(args.dir), args.log)
    except (WitnessError, OSError) as e:
        return _refuse(str(e))
    try:
        server = WitnessServer(
            store, args.host, args.port, prefix=args.prefix, verbose=args.verbose
        )
    except OSError as e:
        store.close()
        return _refuse(f"cannot listen on {args.host}:{args.port}: {e}")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        # Set from a new thread: setting it here could deadlock inside stop.wait().
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="witness", daemon=True)
    thread.start()
    host, port = server.server_address[0], server.server_address[1]
    host = host.decode() if isinstance(host, bytes) else host
    origins = ", ".join(sorted(store.logs))
    print(
        f"witness {store.signer.cosigner.vkey} on http://{host}:{port}{server.prefix}/ "
        f"for {origins}",
        flush=True,
    )
    stop.wait()
    server.shutdown()
    server.server_close()
    store.close()
    return 0


def cmd_witness_evidence(args: argparse.Namespace) -> int:
    records = evidence_list(Path(args.dir))
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True))
    elif not records:
        print("no forks seen")
    for r in records if not args.json else []:
        print(f"== {r.get('at')} {r.get('origin')}: {r.get('reason')}")
        print("-- cosigned:")
        sys.stdout.write(str(r.get("cosigned", "")))
        print("-- refused:")
        sys.stdout.write(str(r.get("refused", "")))
        if r.get("proof"):
            print("-- proof sent:")
            for p in r["proof"]:
                print(p)
    return 1 if records else 0


def register(sub: Any) -> None:
    wit = sub.add_parser(
        "witness", help="run a transparency-log witness (c2sp.org/tlog-witness)"
    ).add_subparsers(dest="action", required=True)
    p = wit.add_parser("init", help="create a witness key; prints its verifier key last")
    p.add_argument("name", help="the witness's name, e.g. witness.example.org")
    p.add_argument("--dir", required=True)
    p.set_defaults(handler=cmd_witness_init)
    p = wit.add_parser("serve", help="answer add-checkpoint for the given logs")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--prefix", default="", help="URL path before /add-checkpoint")
    p.add_argument(
        "--log",
        type=_log_vkey,
        action="append",
        required=True,
        help="a log's verifier key (text or file); its name is the log's origin",
    )
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(handler=cmd_witness_serve)
    p = wit.add_parser("evidence", help="print the forks refused (exit 1 if any)")
    p.add_argument("--dir", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_witness_evidence)


def main(argv: list[str]) -> int:
    """`solidarity witness ...` parsed and run without building the application's parser."""
    parser = argparse.ArgumentParser(prog="solidarity")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["witness", *argv])
    code: int = args.handler(args)
    return code
