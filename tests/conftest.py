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


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """A test marked `postgres` runs on PostgreSQL. Run on another database it is skipped,
    except in CI (CI=true), where that is a failure: CI's PostgreSQL stage must run it."""
    if request.node.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    message = f"marked postgres, run on {connection.vendor}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


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
