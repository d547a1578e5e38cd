"""Where benchmarks keep their scratch installations: beside the project's own data.

`var/bench/` under the checkout (or $SOLIDARITY_BENCH_DIR), on the filesystem a real
installation's SOLIDARITY_HOME lives on, not the system temporary directory, whose file
creation speed can differ by an order of magnitude (measured: 1.1 ms against 0.04 ms per
file on one machine). Each call gives a new empty directory; the caller removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(
    os.environ.get("SOLIDARITY_BENCH_DIR") or Path(__file__).resolve().parents[1] / "var" / "bench"
)


def scratch_dir(prefix: str) -> Path:
    """A new empty directory under ROOT."""
    ROOT.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=ROOT))


@contextmanager
def scratch_tree(prefix: str) -> Iterator[str]:
    """A scratch_dir for the length of a with block, then removed."""
    path = scratch_dir(prefix)
    try:
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def file_create_ms(folder: Path, count: int = 500) -> float:
    """Milliseconds to create (and close) one new empty file in `folder`, averaged.

    Recorded beside results that write many files: on the same disk it has been seen to vary
    from 0.02 to 1.1 ms with the directory and the moment.
    """
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    try:
        started = time.perf_counter()
        for i in range(count):
            os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        return round((time.perf_counter() - started) / count * 1000, 3)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
