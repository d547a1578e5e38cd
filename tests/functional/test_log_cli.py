"""The public log from the command line, in its own installation (SQLite): demo → sequence →
export → an auditor's `verify` with no database → the same totals as the campaign page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOLIDARITY = str(Path(sys.executable).with_name("solidarity"))

REVERSE = textwrap.dedent(
    """
    from datetime import UTC, datetime
    import django
    django.setup()
    from solidarity.apps.donations.models import Donation
    from solidarity.apps.donations.services import donation_reverse
    gift = Donation.objects.filter(campaign__slug="cuba-2025").order_by("id")[17]
    donation_reverse(donation=gift, source="bank", source_ref="return-1",
                     reversed_at=datetime(2025, 8, 26, tzinfo=UTC), reason="returned")
    print(gift.public_ref)
    """
)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("log-cli")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SOLIDARITY_HOME": str(home / "home"), **extra}
    env.pop("DATABASE_URL", None)
    return env


def run(home: Path, *args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [SOLIDARITY, *args],
        capture_output=True,
        text=True,
        env=env or _env(home),
        timeout=300,
        check=False,
    )
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def auditor(home: Path, *args: str, code: int = 0) -> str:
    """The auditor's machine: no Django settings, no installation, no database."""
    env = _env(home, SOLIDARITY_HOME=str(home / "auditor-has-no-home"))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = run(home, *args, code=code, env=env)
    assert not (home / "auditor-has-no-home").exists()
    return out


@pytest.fixture(scope="module")
def exported(home: Path) -> tuple[Path, str, str]:
    # Given the demo campaign with a few thousand gifts and one reversal, sequenced
    run(home, "init", "--no-static")
    assert (home / "home" / "secrets" / "keys").stat().st_mode & 0o777 == 0o700
    out = run(home, "demo", "--gifts", "3000")
    # 3,000 gifts, the account announced, and the demo's tranches and goods
    found = re.search(r"log cuba-2025: ([0-9,]+) entries", out)
    assert found, out
    size = int(found[1].replace(",", ""))
    assert size > 3000
    (home / "demo-size").write_text(str(size))
    (home / "old-checkpoint").write_bytes(
        (home / "home" / "log" / "cuba-2025" / "checkpoint").read_bytes()
    )
    reversed_ref = subprocess.run(
        [sys.executable, "-c", REVERSE],
        capture_output=True,
        text=True,
        env=_env(home, DJANGO_SETTINGS_MODULE="solidarity.web.settings"),
        check=True,
    ).stdout.strip()
    run(home, "log", "sequence", "--once")
    # When the files are exported for a static host
    run(home, "log", "export", "cuba-2025", str(home / "static"))
    vkey = run(home, "log", "vkey", "cuba-2025").strip()
    (home / "vkey").write_text(vkey + "\n")
    return home / "static", vkey, reversed_ref


def test_verify_from_the_files_alone_gives_the_campaign_totals(home, exported):
    static, _, _ = exported
    # When an auditor verifies them with the key alone, no database
    report = json.loads(
        auditor(home, "verify", str(static), "--vkey", str(home / "vkey"), "--json")
    )
    # Then the log's totals are the totals on the campaign page and from the CLI
    totals = json.loads(run(home, "campaign", "totals", "cuba-2025", "--json"))
    vnd = report["totals"]["VND"]
    assert report["ok"] is True
    # (the demo's log plus the reversal booked above)
    assert report["size"] == int((home / "demo-size").read_text()) + 1
    assert sum(report["kinds"].values()) == report["size"]
    assert (report["kinds"]["account"], report["kinds"]["donation"]) == (1, 3000)
    assert report["kinds"]["reversal"] == 1
    assert vnd["raised"] == totals["raised_minor"]
    assert vnd["gifts"] == totals["donation_count"] == 2999
    assert vnd["reversed"] == totals["reversed_minor"] > 0
    assert vnd["disbursed"] == totals["disbursed_minor"]
    assert vnd["balance"] == totals["balance_minor"]
    assert "ledger check: clean" in run(home, "ledger", "check")
    text = auditor(home, "verify", str(static), "--vkey", str(home / "vkey"))
    assert f"raised     {totals['raised_minor']:>22,}" in text


def test_verify_proves_the_log_only_grew(home, exported):
    static, vkey, _ = exported
    out = auditor(
        home, "verify", str(static), "--vkey", vkey, "--since", str(home / "old-checkpoint")
    )
    size = int((home / "demo-size").read_text())
    assert f"consistent with the older checkpoint of size {size:,}" in out


def test_verify_names_what_failed(home, exported, tmp_path):
    static, vkey, _ = exported
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(static), str(copy)], check=True)
    tile = copy / "tile" / "entries" / "005"
    data = bytearray(tile.read_bytes())
    data[100] ^= 1
    tile.write_bytes(bytes(data))
    out = auditor(home, "verify", str(copy), "--vkey", vkey, code=1)
    assert "FAILED" in out
    assert "tile/0/005" in out or "tile/entries/005" in out
    other = run(home, "log", "vkey", "cuba-2025").strip().replace("cuba-2025", "other")
    assert "FAILED vkey" in auditor(home, "verify", str(copy), "--vkey", other, code=2)


def test_a_receipt_verifies_offline(home, exported):
    _, vkey, reversed_ref = exported
    receipt = home / "receipt.json"
    run(home, "log", "receipt", "cuba-2025", reversed_ref, "--out", str(receipt))
    doc = json.loads(receipt.read_text())
    assert doc["ref"] == reversed_ref
    assert doc["vkey"] == vkey
    out = auditor(home, "verify-receipt", str(receipt), "--vkey", vkey)
    assert f"verified: entry {doc['index']}" in out
    doc["entry"] = doc["entry"].replace('"amount":', '"amount":1')
    receipt.write_text(json.dumps(doc))
    assert "FAILED" in auditor(home, "verify-receipt", str(receipt), "--vkey", vkey, code=1)


def test_proofs_from_the_command_line(home, exported):
    proof = json.loads(run(home, "log", "proof", "cuba-2025", "--index", "5", "--size", "100"))
    assert (proof["index"], proof["size"]) == (5, 100)
    size = int((home / "demo-size").read_text())
    consistency = json.loads(
        run(home, "log", "consistency", "cuba-2025", "--from", str(size), "--to", str(size + 1))
    )
    assert consistency["from"] == size
    assert "index must be" in run(home, "log", "proof", "cuba-2025", "--index", "9999", code=2)


def test_a_rotated_key_is_announced_and_verified_with_the_first_key(home, exported, tmp_path):
    _, first, reversed_ref = exported
    kept = home / "kept-receipt.json"
    run(home, "log", "receipt", "cuba-2025", reversed_ref, "--out", str(kept))
    # When the signing key is rotated, and the log grows under the new key
    out = run(home, "log", "rotate-key", "cuba-2025")
    assert f"under {first}" in out
    new = run(home, "log", "vkey", "cuba-2025").strip()
    assert new != first and new.split("+")[0] == first.split("+")[0]
    run(home, "demo", "--gifts", "3010")
    run(home, "log", "sequence", "--once")
    static = tmp_path / "static"
    run(home, "log", "export", "cuba-2025", str(static))
    # Then an auditor holding only the first key verifies the whole log, and so does one
    # holding the new key; the key entry counts in no total
    report = json.loads(auditor(home, "verify", str(static), "--vkey", first, "--json"))
    assert report["kinds"]["key"] == 1
    totals = json.loads(run(home, "campaign", "totals", "cuba-2025", "--json"))
    assert report["totals"]["VND"]["raised"] == totals["raised_minor"]
    auditor(home, "verify", str(static), "--vkey", new)
    # And receipts from before and after the rotation verify with the first key
    assert "verified" in auditor(home, "verify-receipt", str(kept), "--vkey", first)
    fresh = home / "fresh-receipt.json"
    run(home, "log", "receipt", "cuba-2025", reversed_ref, "--out", str(fresh))
    assert json.loads(fresh.read_text())["keys"]
    assert "verified" in auditor(home, "verify-receipt", str(fresh), "--vkey", first)
    # Without the announcement, the first key does not accept the new checkpoints
    (static / "keys.json").unlink()
    out = auditor(home, "verify", str(static), "--vkey", first, code=1)
    assert "checkpoint signature" in out


def test_a_lost_signing_key_comes_back_from_a_backup(home, exported, tmp_path):
    # Given a backup, then the key file lost with the machine's disk
    run(home, "backup", str(tmp_path / "b"))
    key = home / "home" / "secrets" / "keys" / "cuba-2025.key"
    saved = key.read_bytes()
    key.unlink()
    assert "restore keys/cuba-2025.key" in run(home, "log", "sequence", "--once", code=1)
    # A backup altered since it was taken is refused before anything is written
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["files"]["keys/cuba-2025.key"]["sha256"]
    (tmp_path / "b" / "secrets").mkdir(exist_ok=True)
    altered = tmp_path / "b" / "keys" / "cuba-2025.key"
    altered.write_bytes(saved + b" ")
    assert "altered" in run(home, "restore", "--force", str(tmp_path / "b"), code=2)
    assert not key.exists()
    altered.write_bytes(saved)
    # When it is restored, the key is back and the log goes on
    out = run(home, "restore", "--force", str(tmp_path / "b"))
    assert "the database holds the published log" in out
    assert key.read_bytes() == saved and key.stat().st_mode & 0o777 == 0o600
    run(home, "log", "sequence", "--once")
    # And the same backup restores into an installation that has nothing yet
    empty = {"SOLIDARITY_HOME": str(tmp_path / "new-home")}
    env = _env(home, **empty)
    out = run(home, "restore", str(tmp_path / "b"), env=env)
    assert "checkpoint of size" in out and "the database holds the published log" in out
    # (keys.json exists once a rotation happened: another test of this module may rotate)
    had_keys = (home / "home" / "log" / "cuba-2025" / "keys.json").exists()
    assert (tmp_path / "new-home" / "log" / "cuba-2025" / "keys.json").exists() == had_keys
    totals = json.loads(run(home, "campaign", "totals", "cuba-2025", "--json", env=env))
    assert totals == json.loads(run(home, "campaign", "totals", "cuba-2025", "--json"))
    assert "ledger check: clean" in run(home, "ledger", "check", env=env)
    run(home, "restore", str(tmp_path / "b"), env=env, code=2)  # not empty any more
