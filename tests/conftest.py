"""Test set-up shared by every suite: an isolated SOLIDARITY_HOME, the shared test data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SOLIDARITY_HOME", tempfile.mkdtemp(prefix="solidarity-test-"))
os.environ.setdefault("SOLIDARITY_TESTING", "1")

REPO = Path(__file__).resolve().parents[1]
# The checkout always sits beside shared/ (see README, "Test data").
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"


def pytest_configure(config: object) -> None:
    """Compile the message catalogues (.mo files are build products, not in git)."""
    from solidarity.web.compile_messages import compile_all

    compile_all()
