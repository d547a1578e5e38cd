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
from solidarity.apps.campaigns.services import AccountInput, campaign_open
from solidarity.apps.donations.services import GiftInput
from solidarity.apps.transparency.announcements import campaign_create

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


def totp_code(device: Any) -> str:
    """The current code of a TOTP device, as an authenticator app computes it (RFC 6238).

    When this step's code has already been used (django-otp refuses a code twice), the next
    step's, which the device accepts within its tolerance.
    """
    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    # This step's code first, then later ones: an earlier step's code would be refused when
    # the clock passes into the next step between computing and checking it.
    for t in range(now, now + device.tolerance + 1):
        if device.last_t is None or t > device.last_t:
            totp.time = device.t0 + t * device.step
            return f"{totp.token():0{device.digits}d}"
    raise AssertionError("every code of this step window has been used")


def office_login(client: Any, username: str, password: str) -> bool:
    """Log in through the real login page, with a real TOTP code for admins and approvers
    (enrolling a device first if they have none). True if the login was accepted."""
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from solidarity.apps.accounts.services import totp_enrol, user_needs_otp

    user = User.objects.get(username=username)
    data = {"username": username, "password": password, "next": "/admin/"}
    if user_needs_otp(user):
        device = TOTPDevice.objects.filter(user=user).first() or totp_enrol(user=user).device
        data["otp_token"] = totp_code(device)
    client.get("/admin/login/")
    if "csrftoken" in client.cookies:
        data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    response = client.post("/admin/login/", data)
    return response.status_code == 302
