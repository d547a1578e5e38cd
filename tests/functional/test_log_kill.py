"""The sequencer killed with SIGKILL at random instants while gifts are booked (SQLite files).

After every kill the published checkpoint must still verify and never be smaller than before;
once restarted to the end, the log must hold every booked gift exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from solidarity.core.tlog.tiles import bundle_decode, bundles_for_size
from solidarity.core.tlog.verify import log_verify
from solidarity.infra.logreaders import source_open

SOLIDARITY = str(Path(sys.executable).with_name("solidarity"))
KILLS = 7

BOOKER = textwrap.dedent(
    """
    import sys, time, random
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    import django
    django.setup()
    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.donations.services import GiftInput, donations_record_many
    stop = Path(sys.argv[1])
    campaign = Campaign.objects.get(slug="kill")
    account = campaign.accounts.first()
    rng = random.Random(7)
    opens = datetime(2025, 8, 25, 1, tzinfo=UTC)
    n = 0
    while not stop.exists() and n < 20_000:
        size = rng.randint(1, 40)
        donations_record_many(campaign=campaign, gifts=[
            GiftInput(amount_minor=10_000 + i, currency="VND",
                      received_at=opens + timedelta(seconds=n + i), channel="bank_transfer",
                      source="kill", source_ref=str(n + i), donor_name="LE VAN C",
                      memo="ung ho cuba", account=account, sender_account=f"a{(n + i) % 500}")
            for i in range(size)])
        n += size
        time.sleep(rng.uniform(0, 0.03))
    print(n)
    """
)

FACTS = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from solidarity.apps.transparency.models import LogEntry, LogHead
    rows = LogEntry.objects.filter(campaign__slug="kill")
    print(json.dumps({
        "entries": rows.count(),
        "head": LogHead.objects.get(campaign__slug="kill").size,
        "indexes": sorted(rows.values_list("index", flat=True)),
        "refs": sorted(rows.filter(kind="donation").values_list("ref", flat=True)),
    }))
    """
)


def _checkpoint_size(log: Path) -> int | None:
    try:
        return int((log / "checkpoint").read_text().split("\n")[1])
    except FileNotFoundError:
        return None


@pytest.mark.slow
def test_sigkill_at_random_points_never_breaks_the_log(tmp_path):
    env = {**os.environ, "SOLIDARITY_HOME": str(tmp_path / "home")}
    env.pop("DATABASE_URL", None)
    django_env = {**env, "DJANGO_SETTINGS_MODULE": "solidarity.web.settings"}

    def sol(*args: str) -> str:
        r = subprocess.run(
            [SOLIDARITY, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    sol("init", "--no-static")
    sol(
        "campaign", "create", "--slug", "kill", "--code", "KILL", "--name", "Kill test",
        "--goal", "1000000000000", "--days", "30", "--account", "970422:4001:HOI CTD",
    )  # fmt: skip
    sol("campaign", "open", "kill")
    log = tmp_path / "home" / "log" / "kill"
    vkey = sol("log", "vkey", "kill").strip()
    stop = tmp_path / "stop-booking"
    # Given gifts booked continuously by another process
    booker = subprocess.Popen(
        [sys.executable, "-c", BOOKER, str(stop)], env=django_env, stdout=subprocess.PIPE, text=True
    )
    rng = random.Random(2025)
    sizes: list[int] = []
    try:
        for _ in range(KILLS):
            # When a sequencer is killed at a random instant of its work
            proc = subprocess.Popen(
                [
                    SOLIDARITY,
                    "log",
                    "sequence",
                    "--interval",
                    "0.02",
                    "--batch",
                    str(rng.randint(5, 60)),
                ],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            proc.stdout.readline()  # "sequencing every ...": Django is up, passes begin
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            # Then what is published still verifies, and never went back
            size = _checkpoint_size(log)
            if size is not None:
                sizes.append(size)
                log_verify(source_open(log), vkey)  # raises LogVerifyError naming what broke
    finally:
        stop.touch()
        booked = int(booker.communicate(timeout=60)[0].strip())
    # And a restart catches up with every gift booked
    sol("log", "sequence", "--once")
    facts = json.loads(
        subprocess.run(
            [sys.executable, "-c", FACTS],
            capture_output=True,
            text=True,
            env=django_env,
            check=True,
        ).stdout
    )
    report = json.loads(sol("verify", str(log), "--vkey", vkey, "--json"))
    sizes.append(report["size"])
    assert sizes == sorted(sizes), sizes
    assert len(sizes) >= KILLS // 2, "the sequencer never got to publish before being killed"
    assert facts["indexes"] == list(range(facts["head"]))  # no gap, no index given twice
    assert report["size"] == facts["entries"]
    assert report["kinds"]["donation"] == booked == len(facts["refs"])
    published_refs = []
    for t in bundles_for_size(report["size"]):
        for data in bundle_decode((log / t.path).read_bytes(), t.width):
            entry = json.loads(data)
            if entry["kind"] == "donation":
                published_refs.append(entry["ref"])
    assert sorted(published_refs) == facts["refs"]  # every booked gift, exactly once
