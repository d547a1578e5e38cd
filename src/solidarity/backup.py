"""`solidarity backup DIR` and `solidarity restore DIR`: a consistent snapshot of an installation.

A backup directory holds:

    manifest.json          sha256 and size of every file below, versions, each log's
                           published size and root at the time of the backup
    database.sqlite3       the SQLite database (SQLite's online backup API), or
    database.pgdump        the PostgreSQL database (`pg_dump --format=custom`)
    inbox.sqlite3          the receivers' inbox file (SQLite installations)
    keys/                  the logs' signing keys (current and retired)
    secrets/               generated secrets (Django's, the public reference and donor keys)
    log/<slug>/            the published log files

Order (the contract that makes the snapshot usable): each log's checkpoint is read before its
tiles are copied (tiles are written before the checkpoint that covers them), and the log files
are copied before the database, so the database in a backup holds at least every entry its
log files publish. Restoring never moves a published log backwards: a tile already present is
kept (and must hold the same bytes), a checkpoint is only replaced by a larger one. A database
restored behind the log the world has seen is caught by the sequencer (`log_divergence`) and
brought back in line by `solidarity log recover`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solidarity.console import CommandError, django_setup
from solidarity.core.tlog.keys import KEYS_PATH, KeyChainError, keys_parse
from solidarity.infra.inbox import Inbox

MANIFEST = "manifest.json"
FORMAT = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite file through the online backup API."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _copy_tree(src: Path, dst: Path, *, private: bool = False, skip: Path | None = None) -> None:
    """Copy the finished files under src (no temporary ones, nothing under `skip`); private
    ones get mode 0600."""
    for path in sorted(src.rglob("*")):
        if skip is not None and skip in path.parents:
            continue
        if path.is_file() and ".tmp-" not in path.name and not path.name.endswith(".part"):
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(path, target)
            if private:
                target.chmod(0o600)


def _database() -> dict[str, Any]:
    from django.db import connection

    return dict(connection.settings_dict)


def _pg_url(settings: dict[str, Any]) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    host, port = settings.get("HOST") or "localhost", settings.get("PORT") or 5432
    user = settings.get("USER") or ""
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def backup_take(dest: Path) -> dict[str, Any]:
    """Write a backup of this installation into `dest` (new or empty); its manifest."""
    from importlib.metadata import version

    from django.db import connection

    from solidarity import config
    from solidarity.apps.transparency.logfiles import key_root
    from solidarity.apps.transparency.models import LogState

    if dest.exists() and any(dest.iterdir()):
        raise CommandError(f"{dest}: not empty; a backup goes into a new directory")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    logs: dict[str, Any] = {}
    # Log files first (each checkpoint before its tiles), the database last.
    for state in LogState.objects.select_related("campaign"):
        slug = state.campaign.slug
        note = _log_copy_out(slug, dest / "log" / slug)
        if note is None:
            continue
        lines = note.decode().split("\n")
        logs[slug] = {"origin": lines[0], "size": int(lines[1]), "root": lines[2]}
    _copy_tree(key_root(), dest / "keys", private=True)
    _copy_tree(config.secrets_dir(), dest / "secrets", private=True, skip=key_root())
    settings = _database()
    if connection.vendor == "sqlite":
        name = Path(str(settings["NAME"]))
        # The inbox before the database: a notification the booker moves in between is in
        # both copies (booked once: its key is unique), never in neither.
        inbox = Path(f"{name}-inbox")
        if inbox.exists():
            _sqlite_copy(inbox, dest / "inbox.sqlite3")
        _sqlite_copy(name, dest / "database.sqlite3")
        engine_version = sqlite3.sqlite_version
    elif connection.vendor == "postgresql":
        out = dest / "database.pgdump"
        dump = ["pg_dump", "--format=custom", "--no-owner", f"--file={out}", _pg_url(settings)]
        done = subprocess.run(dump, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode:
            raise CommandError(f"pg_dump failed: {done.stderr.strip()[-2000:]}")
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            engine_version = str(cur.fetchone()[0])  # type: ignore[index]
    else:
        raise CommandError(f"no backup for a {connection.vendor} database")
    files = {
        str(p.relative_to(dest)): {"sha256": _sha256(p), "bytes": p.stat().st_size}
        for p in sorted(dest.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "format": FORMAT,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "solidarity": version("solidarity"),
        "database": {"vendor": connection.vendor, "version": engine_version},
        "migrations": _migrations(),
        "logs": logs,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _migrations() -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"):
        latest[app] = max(latest.get(app, ""), name)
    return latest


def _manifest_check(src: Path) -> dict[str, Any]:
    """The backup's manifest once every file it lists is present with its sha256."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise CommandError(f"{src / MANIFEST}: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CommandError(f"{src / MANIFEST}: not a backup manifest of format {FORMAT}")
    bad = [
        name
        for name, meta in sorted(manifest.get("files", {}).items())
        if not (src / name).is_file() or _sha256(src / name) != meta.get("sha256")
    ]
    if bad:
        raise CommandError(
            f"{src}: {len(bad)} files missing or altered since the backup: {', '.join(bad[:5])}"
        )
    return manifest


def _sqlite_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (
            db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] == 0
        )
    finally:
        db.close()


def _pg_empty() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        return int(cur.fetchone()[0]) == 0  # type: ignore[index]


def _private_restore(src: Path, dst: Path, *, replace: bool) -> list[str]:
    """Copy private files (mode 0600); a file present with other bytes is replaced when
    `replace`, else kept. The names of the files kept."""
    if not src.is_dir():
        return []
    dst.mkdir(parents=True, exist_ok=True, mode=0o700)
    kept = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        target = dst / path.relative_to(src)
        if target.exists() and target.read_bytes() != path.read_bytes() and not replace:
            kept.append(target.name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.restore")
        shutil.copyfile(path, tmp)
        tmp.chmod(0o600)
        os.replace(tmp, target)
    return kept


def _inbox_merge(backed_up: Path, live: Path) -> str:
    """Put the backed-up inbox's notifications into the live inbox, keeping those it holds:
    a notification acknowledged after the backup is not lost, and one found in both is
    stored once (its key is unique, and so is its row in the database)."""
    source = sqlite3.connect(f"file:{backed_up}?mode=ro", uri=True)
    try:
        rows = source.execute("SELECT key, record FROM inbox ORDER BY id").fetchall()
    finally:
        source.close()
    added = Inbox(live).put_many([(str(k), json.loads(r)) for k, r in rows])
    return f"inbox: {sum(added):,} of {len(rows):,} backed-up notifications put back"


def _links(data: bytes | None) -> int:
    """How many key links a keys.json holds (-1 when unreadable: any copy is better)."""
    try:
        return len(keys_parse(data))
    except KeyChainError:
        return -1


def _log_copy_out(slug: str, dest: Path) -> bytes | None:
    """Copy a log's published files (from its directory or the database) into `dest`, the
    checkpoint read first and written last; the checkpoint, or None before the first."""
    from solidarity.apps.transparency.logfiles import log_root, log_store, log_store_in_database

    if not log_store_in_database():
        src = log_root() / slug
        note = (src / "checkpoint").read_bytes() if (src / "checkpoint").exists() else None
        if note is None:
            return None
        _copy_tree(src / "tile", dest / "tile")
        if (src / KEYS_PATH).exists():  # written before any checkpoint that needs it
            shutil.copyfile(src / KEYS_PATH, dest / KEYS_PATH)
        (dest / "checkpoint").write_bytes(note)
        return note
    from solidarity.apps.transparency.tilestore import DatabaseTileStore

    store = log_store(slug)
    assert isinstance(store, DatabaseTileStore)
    note = store.read("checkpoint")
    if note is None:
        return None
    for path in store.paths():
        data = store.read(path)
        if path != "checkpoint" and data is not None:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_bytes(data)
    (dest / "checkpoint").write_bytes(note)
    return note


def _log_restore(src: Path, slug: str) -> str:
    """Merge a backed-up log directory into the live log without moving it backwards."""
    from solidarity.apps.transparency.logfiles import log_store
    from solidarity.core.tlog.tiles import TileConflictError

    store = log_store(slug)
    items = [
        (str(p.relative_to(src)), p.read_bytes())
        for p in sorted((src / "tile").rglob("*"))
        if p.is_file()
    ]
    try:
        store.write_once_many(items)
    except TileConflictError as e:
        return f"kept the live files, which differ from the backup's: {e}"
    if (src / KEYS_PATH).exists():  # a chain of links: the longer one holds the other
        backed_up = (src / KEYS_PATH).read_bytes()
        if _links(store.read(KEYS_PATH)) < _links(backed_up):
            store.replace(KEYS_PATH, backed_up)
    note = (src / "checkpoint").read_bytes()
    live = store.read("checkpoint")
    size = int(note.decode().split("\n")[1])
    if live is None or int(live.decode().split("\n")[1]) < size:
        store.replace("checkpoint", note)
        return f"checkpoint of size {size:,} restored"
    return f"kept the live checkpoint of size {int(live.decode().split(chr(10))[1]):,}"


def backup_restore(src: Path, *, force: bool) -> list[str]:
    """Restore a backup into this installation; lines to print. CommandError refuses."""
    from django.db import connection

    from solidarity import config
    from solidarity.apps.transparency.logfiles import key_root, log_store_in_database
    from solidarity.apps.transparency.models import LogState

    manifest = _manifest_check(src)
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise CommandError(
            f"the backup holds a {vendor} database, this installation uses {connection.vendor}"
        )
    settings = _database()
    if vendor == "sqlite":
        target = Path(str(settings["NAME"]))
        if not _sqlite_empty(target) and not force:
            raise CommandError(f"{target}: the database is not empty; restore --force replaces it")
    elif not _pg_empty() and not force:
        raise CommandError(
            f"{settings['NAME']}: the database is not empty; restore --force replaces it"
        )
    # Secrets belong to the database they are restored with (public references are derived
    # with them); a signing key present is never replaced: keys change only by rotation,
    # and a rotation the backup predates is found in the published keys.json.
    _private_restore(src / "secrets", config.secrets_dir(), replace=True)
    kept = _private_restore(src / "keys", key_root(), replace=False)
    lines = [f"kept the live signing key {name}, not the backup's" for name in kept]
    # Published files kept in the database are replaced with it: the live ones are set
    # aside first and merged back, so the log never moves backwards.
    live = Path(tempfile.mkdtemp(prefix="solidarity-live-log-"))
    live_slugs: list[str] = []
    if log_store_in_database() and vendor != "sqlite" and not _pg_empty():
        for row in LogState.objects.select_related("campaign"):
            if _log_copy_out(row.campaign.slug, live / row.campaign.slug) is not None:
                live_slugs.append(row.campaign.slug)
    connection.close()
    if vendor == "sqlite":
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(src / "database.sqlite3", target)
        if (src / "inbox.sqlite3").exists():
            lines.append(_inbox_merge(src / "inbox.sqlite3", Path(f"{target}-inbox")))
        lines.append(f"database restored into {target}")
    else:
        args = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
        if force:
            args += ["--clean", "--if-exists"]
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own tool from PATH
            [*args, f"--dbname={_pg_url(settings)}", str(src / "database.pgdump")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()[-2000:]}")
        lines.append(f"database restored into {settings['NAME']}")
    for slug in live_slugs:
        lines.append(f"log {slug}: live files: " + _log_restore(live / slug, slug))
    shutil.rmtree(live, ignore_errors=True)
    for slug in sorted(manifest.get("logs", {})):
        lines.append(f"log {slug}: " + _log_restore(src / "log" / slug, slug))
    lines.extend(_logs_compare())
    return lines


def _logs_compare() -> list[str]:
    """After a restore: each log's database against its published files; reserves the
    indexes of published entries the database is missing, so no booking can take them."""
    from solidarity.apps.transparency.logfiles import LogKeyError
    from solidarity.apps.transparency.models import LogState
    from solidarity.apps.transparency.sequencer import (
        SequencerError,
        log_divergence,
        log_head_reserve,
        log_published_open,
    )

    out = []
    for row in LogState.objects.select_related("campaign").order_by("campaign__slug"):
        slug = row.campaign.slug
        try:
            state, store, current = log_published_open(row.campaign)
            found = log_divergence(row.campaign, state, store, current) if current else None
        except (SequencerError, LogKeyError, OSError) as e:
            out.append(f"log {slug}: {e}")
            continue
        if found and current is not None:
            if found.missing and not found.different:
                log_head_reserve(state.campaign, current.size)
            out.append(f"log {slug}: {found.describe(slug)}")
        else:
            out.append(f"log {slug}: the database holds the published log")
    return out


def cmd_backup(args: argparse.Namespace) -> int:
    django_setup()
    manifest = backup_take(Path(args.dir))
    sizes = ", ".join(f"{s} {v['size']:,}" for s, v in sorted(manifest["logs"].items()))
    print(
        f"backup written to {args.dir}: {len(manifest['files']):,} files, "
        f"{manifest['database']['vendor']} database, logs: {sizes or '-'}"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    django_setup()
    lines = backup_restore(Path(args.dir), force=args.force)
    for line in lines:
        print(line)
    refused = any("refusing to publish" in line for line in lines)
    if refused:
        print(
            "run the `solidarity log recover` named above before starting the service",
            file=sys.stderr,
        )
    return 1 if refused else 0


def register(sub: Any) -> None:
    p = sub.add_parser("backup", help="a consistent snapshot: database, inbox, logs, keys")
    p.add_argument("dir", help="a new or empty directory")
    p.set_defaults(handler=cmd_backup)
    p = sub.add_parser("restore", help="bring a backup back into an empty installation")
    p.add_argument("dir")
    p.add_argument("--force", action="store_true", help="replace a database that is not empty")
    p.set_defaults(handler=cmd_restore)
