"""The core and the I/O package import with Django absent (STYLE.md: the core is pure)."""

import pkgutil
import subprocess
import sys

import pytest

import solidarity.core
import solidarity.infra


@pytest.mark.parametrize("package", [solidarity.core, solidarity.infra])
def test_imports_without_django(package):
    modules = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    assert modules
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
