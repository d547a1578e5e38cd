"""The tlog core imports neither Django nor the apps (STYLE.md: the core is pure)."""

from __future__ import annotations

import subprocess
import sys


def test_tlog_imports_without_django() -> None:
    code = (
        "import sys\n"
        "sys.modules['django'] = None\n"
        "import solidarity.core.tlog.receipt\n"
        "import solidarity.core.tlog.sequencer\n"
        "import solidarity.core.tlog.verify\n"
        "assert not any(m.startswith(('solidarity.apps', 'solidarity.web')) for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
