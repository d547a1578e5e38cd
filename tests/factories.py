"""Factories for integration and functional tests: real services, no mocks."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.services import AccountInput, campaign_create, campaign_open
from solidarity.apps.donations.services import GiftInput

OPENS = datetime(2025, 8, 25, 1, 0, tzinfo=UTC)
_seq = itertools.count()


def campaign_factory(
    *,
    slug: str = "cuba",
    goal: int = 1_000_000,
    open_: bool = True,
    accounts: tuple[AccountInput, ...] = (AccountInput("970422", "4001", "HOI CTD"),),
    **kw: Any,
) -> Campaign:
    campaign = campaign_create(
        slug=slug,
        code=kw.pop("code", "CUBA"),
        names=kw.pop("names", {"vi": "Vì Cuba", "en": "For Cuba"}),
        goal_minor=goal,
        currency=kw.pop("currency", "VND"),
        opens_at=kw.pop("opens_at", OPENS),
        days=kw.pop("days", 65),
        accounts=accounts,
        **kw,
    )
    return campaign_open(campaign=campaign) if open_ else campaign


def gift(campaign: Campaign, amount: int = 100_000, **kw: Any) -> GiftInput:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "amount_minor": amount,
        "currency": campaign.currency,
        "received_at": OPENS + timedelta(minutes=n),
        "channel": "bank_transfer",
        "source": "test",
        "source_ref": f"t{n}",
        "donor_name": "NGUYEN VAN AN",
        "memo": "NGUYEN VAN AN ung ho Cuba 0912345678",
        "account": campaign.accounts.first(),
        "sender_account": f"0{n:012d}",
    }
    defaults.update(kw)
    return GiftInput(**defaults)


def cli_runner(home: Path):
    """Run `solidarity ...` as a person would, in its own installation at `home` (SQLite).

    `run(*args, stdin="", code=0)` asserts the exit code and returns the completed process.
    """
    env = {**os.environ, "SOLIDARITY_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    command = str(Path(sys.executable).parent / "solidarity")

    def run(*args: str, stdin: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [command, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == code, result.stdout + result.stderr
        return result

    run.home = str(home)  # type: ignore[attr-defined]
    return run
