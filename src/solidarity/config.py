"""Installation configuration read from the environment, shared by the web app and the CLI.

SOLIDARITY_HOME (default ./var) holds the SQLite database and published files, and
SOLIDARITY_SECRETS_DIR (default SOLIDARITY_HOME/secrets) the generated secrets and signing
keys, so two installations never share state.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


def home() -> Path:
    """The installation's state directory, created (mode 0700) on first use."""
    path = Path(os.environ.get("SOLIDARITY_HOME", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def private_file_create(path: Path, text: str) -> bool:
    """Create `path` (mode 0600) holding `text`, unless it exists; True if this call made it.

    Written under a temporary name, fsynced, then hard-linked into place: two processes
    starting together agree on one content, and nobody ever reads a half-written file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def secrets_configured() -> bool:
    """Whether SOLIDARITY_SECRETS_DIR names the secrets directory explicitly."""
    return bool(os.environ.get("SOLIDARITY_SECRETS_DIR"))


def secrets_dir() -> Path:
    """The installation's secrets (signing keys, generated secrets, feed secrets), created
    (mode 0700) on first use: SOLIDARITY_SECRETS_DIR, default `home()/secrets`.

    Every node of one installation mounts the same directory; nothing else of a node's own
    disk is needed on PostgreSQL.
    """
    configured = os.environ.get("SOLIDARITY_SECRETS_DIR")
    path = Path(configured).resolve() if configured else home() / "secrets"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def secret_file(name: str, nbytes: int = 50) -> str:
    """Read a generated secret from `secrets_dir()/name`, creating it (mode 0600) once."""
    path = secrets_dir() / name
    if not path.exists():
        private_file_create(path, secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


def node_name() -> str:
    """This node's name in heartbeats and readiness: SOLIDARITY_NODE_NAME, else the host name.
    Nodes sharing one host (a test, or containers with the host's name) need their own."""
    return os.environ.get("SOLIDARITY_NODE_NAME", "").strip() or socket.gethostname()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}
