"""The core must import with Django absent (STYLE.md: the core is pure)."""

import pkgutil
import subprocess
import sys

import solidarity.core


def test_core_imports_without_django():
    modules = [m.name for m in pkgutil.walk_packages(solidarity.core.__path__, "solidarity.core.")]
    assert "solidarity.core.money" in modules
    script = (
        "import sys\n"
        "for banned in ('django', 'ninja'): sys.modules[banned] = None\n"
        f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.startswith(('solidarity.apps', 'solidarity.web'))]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
