"""The demo campaign, modelled on the Vietnam Red Cross 2025 campaign for Cuba."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import connections

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.services import AccountInput, campaign_open
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import GiftInput, donations_record_many
from solidarity.apps.transparency.announcements import campaign_create
from solidarity.core.batching import batched
from solidarity.core.demo import demo_gifts

DEMO_SLUG = "cuba-2025"
MB_BANK_BIN = "970422"
DEMO_ACCOUNT = "4001"  # an account number in the demo only; not a real account
OPENS_AT = datetime(2025, 8, 25, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def demo_load(
    *,
    gifts: int,
    seed: int = 2025,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> Campaign:
    """Create (once) and open the demo campaign, then book `gifts` generated gifts.

    Booked through `donations_record_many` like any channel; running it again books
    nothing twice (the gifts' source identities repeat).
    """
    campaign = Campaign.objects.filter(slug=DEMO_SLUG).first()
    if campaign is None:
        campaign = campaign_create(
            slug=DEMO_SLUG,
            code="CUBA",
            keywords=["Cu Ba", "Cuba Viet Nam"],
            names={
                "vi": "Vì Cuba thân yêu",
                "en": "For our dear Cuba",
                "es": "Por nuestra querida Cuba",
                "pt-br": "Por nossa querida Cuba",
            },
            descriptions={
                "vi": "Chiến dịch quyên góp ủng hộ nhân dân Cuba vượt qua khó khăn "
                "(mô phỏng chiến dịch của Hội Chữ thập đỏ Việt Nam năm 2025).",
                "en": "A campaign to help the people of Cuba through hard times "
                "(modelled on the Vietnam Red Cross campaign of 2025).",
                "es": "Una campaña de ayuda al pueblo de Cuba "
                "(inspirada en la campaña de la Cruz Roja de Vietnam de 2025).",
                "pt-br": "Uma campanha de ajuda ao povo de Cuba "
                "(inspirada na campanha da Cruz Vermelha do Vietnã de 2025).",
            },
            goal_minor=65_000_000_000,
            currency="VND",
            opens_at=OPENS_AT,
            days=65,
            beneficiary="Cuban Red Cross (demo)",
            accounts=[AccountInput(MB_BANK_BIN, DEMO_ACCOUNT, "HOI CHU THAP DO VIET NAM")],
        )
        campaign = campaign_open(campaign=campaign)
    if Donation.objects.filter(campaign=campaign, source=f"demo-{seed}").count() >= gifts:
        return campaign  # already loaded: `make demo` starts serving at once
    if workers > 1 and gifts > 20_000:
        _book_in_parallel(campaign, gifts, seed, workers, progress)
    else:
        _book(campaign, gifts, seed, worker=0, workers=1, progress=progress)
    campaign.refresh_from_db()
    return campaign


CHUNK = 5000


def _book(
    campaign: Campaign,
    gifts: int,
    seed: int,
    *,
    worker: int,
    workers: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Book chunk k of the generated gifts when k % workers == worker."""
    account = campaign.accounts.get(bin=MB_BANK_BIN, number=DEMO_ACCOUNT)
    stream = demo_gifts(gifts, opens_at=campaign.opens_at, goal=campaign.goal_minor, seed=seed)
    for k, chunk in enumerate(batched(stream, CHUNK)):
        if k % workers != worker:
            continue
        donations_record_many(
            campaign=campaign,
            gifts=[
                GiftInput(
                    amount_minor=g.amount,
                    currency="VND",
                    received_at=g.received_at,
                    channel=g.channel,
                    source=f"demo-{seed}",
                    source_ref=str(g.seq),
                    donor_name=g.donor_name,
                    privacy="masked",
                    memo=g.memo,
                    account=account,
                    sender_account=g.sender_account,
                    bank_ref=f"FT25{g.seq:011d}",
                )
                for g in chunk
            ],
        )
        if progress:
            progress(min((k + 1) * CHUNK, gifts))


def _book_in_parallel(
    campaign: Campaign,
    gifts: int,
    seed: int,
    workers: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Book with `workers` forked processes; each prepares its gifts while another writes.

    Every gift still goes through donations_record_many; the database's unique constraint
    keeps a re-run (or an overlap) from booking anything twice.
    """
    connections.close_all()
    context = multiprocessing.get_context("fork")
    procs = [
        context.Process(target=_worker, args=(campaign.pk, gifts, seed, w, workers))
        for w in range(1, workers)
    ]
    for proc in procs:
        proc.start()
    _book(campaign, gifts, seed, worker=0, workers=workers, progress=progress)
    for proc in procs:
        proc.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"demo booking workers failed with exit codes {failed}")


def _worker(campaign_id: int, gifts: int, seed: int, worker: int, workers: int) -> None:
    connections.close_all()
    campaign = Campaign.objects.get(pk=campaign_id)
    _book(campaign, gifts, seed, worker=worker, workers=workers, progress=None)
    connections.close_all()
