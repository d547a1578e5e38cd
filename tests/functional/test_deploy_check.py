"""A production configuration passes Django's deployment checks."""

import os
import subprocess
import sys

from tests.conftest import REPO


def test_check_deploy_is_clean(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SOLIDARITY_TESTING", "DEBUG"}}
    env.update(SOLIDARITY_HOME=str(tmp_path), ALLOWED_HOSTS="give.example.org")
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
