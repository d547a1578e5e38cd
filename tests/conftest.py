"""Test set-up shared by every suite: an isolated SOLIDARITY_HOME, the shared test data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SOLIDARITY_HOME", tempfile.mkdtemp(prefix="solidarity-test-"))
os.environ.setdefault("SOLIDARITY_TESTING", "1")

REPO = Path(__file__).resolve().parents[1]
# The checkout always sits beside shared/ (see README, "Test data").
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"


def pytest_configure(config: object) -> None:
    """Compile the message catalogues (.mo files are build products, not in git)."""
    from solidarity.web.compile_messages import compile_all

    compile_all()


@pytest.fixture
def log_home(settings: object, tmp_path: Path) -> Path:
    """Log files, signing keys and sequencer locks in the test's own directory (published
    files in the directory store, whatever the database; tests of the database store ask for
    it with SOLIDARITY_LOG_STORE)."""
    settings.SOLIDARITY_LOG_STORE = "files"  # type: ignore[attr-defined]
    settings.SOLIDARITY_LOG_DIR = str(tmp_path / "log")  # type: ignore[attr-defined]
    settings.SOLIDARITY_KEY_DIR = str(tmp_path / "keys")  # type: ignore[attr-defined]
    settings.SOLIDARITY_LOCK_DIR = str(tmp_path / "locks")  # type: ignore[attr-defined]
    return tmp_path
