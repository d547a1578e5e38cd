"""Installation configuration read from the environment, shared by the web app and the CLI.

SOLIDARITY_HOME (default ./var) holds the SQLite database, generated secrets, signing keys
and published files, so two installations never share state.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def home() -> Path:
    """The installation's state directory, created (mode 0700) on first use."""
    path = Path(os.environ.get("SOLIDARITY_HOME", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def secret_file(name: str, nbytes: int = 50) -> str:
    """Read a generated secret from `home()/secrets/name`, creating it (mode 0600) once.

    Created with O_EXCL so two processes starting together agree on one value.
    """
    folder = home() / "secrets"
    folder.mkdir(exist_ok=True, mode=0o700)
    path = folder / name
    if not path.exists():
        value = secrets.token_urlsafe(nbytes)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(value)
                fh.flush()
                os.fsync(fh.fileno())
    return path.read_text().strip()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}
