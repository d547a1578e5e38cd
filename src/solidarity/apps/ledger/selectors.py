"""`ledger check`: recompute every maintained figure from the postings and compare."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Sum

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation, DonorKey, Reversal
from solidarity.apps.ledger.models import CampaignTotals, Posting
from solidarity.apps.ledger.services import unbalanced_transactions


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    campaigns: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _posted_sum(code: str) -> int:
    value = Posting.objects.filter(account__code=code).aggregate(s=Sum("amount_minor"))["s"]
    return int(value or 0)


def ledger_check() -> CheckReport:
    """Recompute totals from postings and rows; report every difference."""
    report = CheckReport()
    for txn_id, currency, total in unbalanced_transactions():
        report.problems.append(
            f"transaction {txn_id}: postings in {currency or '?'} sum to {total} "
            "or it has fewer than two postings"
        )
    for campaign in Campaign.objects.order_by("slug"):
        stored = CampaignTotals.objects.get(campaign=campaign)
        gifts = Donation.objects.filter(campaign=campaign).aggregate(
            n=Count("id"), s=Sum("amount_minor")
        )
        reversals = Reversal.objects.filter(donation__campaign=campaign).aggregate(
            n=Count("id"), s=Sum("donation__amount_minor")
        )
        income = -_posted_sum(f"income:gifts:{campaign.slug}")
        disbursed = _posted_sum(f"expense:disbursed:{campaign.slug}")
        recomputed = {
            "raised_minor": income,
            "donation_count": (gifts["n"] or 0) - (reversals["n"] or 0),
            "reversal_count": reversals["n"] or 0,
            "reversed_minor": int(reversals["s"] or 0),
            "donor_count": DonorKey.objects.filter(campaign=campaign).count(),
            "disbursed_minor": disbursed,
        }
        from_rows = int(gifts["s"] or 0) - int(reversals["s"] or 0)
        if from_rows != income:
            report.problems.append(
                f"{campaign.slug}: gifts minus reversals ({from_rows}) differ from the "
                f"income postings ({income})"
            )
        for name, value in recomputed.items():
            if getattr(stored, name) != value:
                report.problems.append(
                    f"{campaign.slug}: {name} is {getattr(stored, name)}, recomputed {value}"
                )
        report.campaigns[campaign.slug] = recomputed
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM donations_donation d LEFT JOIN transparency_logentry e "
            "ON e.ref = d.public_ref AND e.kind = 'donation' AND e.campaign_id = d.campaign_id "
            "WHERE e.id IS NULL"
        )
        (missing,) = cur.fetchone() or (0,)
    if missing:
        report.problems.append(f"{missing} booked gifts have no log entry")
    return report
