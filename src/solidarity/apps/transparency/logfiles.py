"""Where a campaign's public log lives: its published files, signing key and lock.

Settings SOLIDARITY_LOG_DIR / SOLIDARITY_KEY_DIR override, for tests:

    SOLIDARITY_SECRETS_DIR/keys/<slug>.key   the log's Ed25519 signer key (signed-note text),
                                             mode 0600 (SOLIDARITY_HOME/keys where an older
                                             installation keeps it)
    SOLIDARITY_HOME/log/<slug>/              the published files (c2sp.org/tlog-tiles) of a
                                             SQLite installation, served at /log/<slug>/
    SOLIDARITY_HOME/locks/log-<slug>.lock    the single-writer lock of SQLite installations

On PostgreSQL the published files are rows of the database (`DatabaseTileStore`), so that
every node of the installation serves the same bytes; SOLIDARITY_LOG_STORE=files|database
overrides the choice.

Each log has its own key, named by the log's origin `<SOLIDARITY_LOG_HOST>/<slug>` as
tlog-checkpoint clients expect. The private key never enters the database or the published
directory; only its verifier key is stored (LogState.vkey) so every web node can serve it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection

from solidarity import config
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.models import LogState
from solidarity.apps.transparency.tilestore import DatabaseTileStore
from solidarity.core.tlog.note import NoteError, Signer, key_generate, signer_parse
from solidarity.core.tlog.tiles import TileStore
from solidarity.infra.tilestore import DirectoryTileStore


class LogKeyError(RuntimeError):
    """A log's signing key is missing or does not match the log: the sequencer must stop."""


def _dir(setting: str, default: str) -> Path:
    configured = getattr(settings, setting, None)
    path = Path(configured) if configured else config.home() / default
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def log_root() -> Path:
    """The directory holding one published directory per campaign log."""
    return _dir("SOLIDARITY_LOG_DIR", "log")


def key_root() -> Path:
    """The private directory (0700) of the logs' signing keys: SOLIDARITY_SECRETS_DIR/keys,
    or SOLIDARITY_HOME/keys where an installation made before the secrets directory has it."""
    configured = getattr(settings, "SOLIDARITY_KEY_DIR", None)
    if configured:
        path = Path(configured)
    else:
        legacy = config.home() / "keys"
        path = (
            legacy
            if legacy.is_dir() and not config.secrets_configured()
            else (config.secrets_dir() / "keys")
        )
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def lock_root() -> Path:
    return _dir("SOLIDARITY_LOCK_DIR", "locks")


def log_dir(slug: str) -> Path:
    """The published directory of a campaign's log (may not exist yet)."""
    return log_root() / slug


def log_store_in_database() -> bool:
    """Whether published files live in the database (PostgreSQL, unless configured otherwise)."""
    choice = getattr(settings, "SOLIDARITY_LOG_STORE", "auto")
    if choice in ("database", "files"):
        return choice == "database"
    return connection.vendor == "postgresql"


def log_store(slug: str, *, durable: bool = True) -> TileStore:
    """The tile store of a campaign's log: its rows in the database (see log_store_in_database)
    or its directory; durable directory stores fsync every file they write."""
    if log_store_in_database():
        return DatabaseTileStore(slug)
    return DirectoryTileStore(log_dir(slug), durable=durable)


def default_origin(slug: str) -> str:
    """The origin a new log of this campaign gets: `<SOLIDARITY_LOG_HOST>/<slug>`."""
    return f"{settings.SOLIDARITY_LOG_HOST}/{slug}"


def _key_file(slug: str) -> Path:
    return key_root() / f"{slug}.key"


def signer_load(slug: str) -> Signer | None:
    """The log's signer from its key file, or None when there is no key file."""
    try:
        text = _key_file(slug).read_text()
    except FileNotFoundError:
        return None
    try:
        return signer_parse(text)
    except NoteError as e:
        raise LogKeyError(f"{_key_file(slug)}: {e}") from None


def signer_ensure(slug: str, origin: str) -> Signer:
    """The log's signer, creating its key file (mode 0600) the first time.

    Created with `config.private_file_create`: two processes starting together agree on one
    key and nobody ever reads a half-written key.
    """
    found = signer_load(slug)
    if found is not None:
        return found
    skey, _ = key_generate(origin)
    config.private_file_create(_key_file(slug), skey + "\n")
    signer = signer_load(slug)
    assert signer is not None
    return signer


def lock_file(slug: str) -> Path:
    return lock_root() / f"log-{slug}.lock"


def init() -> None:
    """`solidarity init`: the private key directory, and a key for every log not started yet.

    A log already started whose key file is missing gets no new key: its key must be restored
    from a backup (a new key would make its published checkpoints unverifiable).
    """
    key_root()
    log_root()
    started = set(LogState.objects.values_list("campaign__slug", flat=True))
    for slug in Campaign.objects.values_list("slug", flat=True):
        if slug not in started:
            signer_ensure(slug, default_origin(slug))
