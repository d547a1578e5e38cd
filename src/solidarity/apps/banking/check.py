"""`solidarity ledger check`: every maintained total recomputed from the postings, the gifts and
returns, the review queue and the log entries; every difference reported."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Sum

from solidarity.apps.banking.selectors import review_open_counts
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.donations.models import Donation, DonorKey, Reversal
from solidarity.apps.ledger.models import CampaignTotals, Posting
from solidarity.apps.ledger.services import unbalanced_transactions
from solidarity.apps.transparency.selectors import log_entries_totals
from solidarity.core.tlog.entry import Totals


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


def _log_problems(campaign: Campaign, stored: CampaignTotals) -> list[str]:
    """Differences between the maintained totals and the totals rule over the log entries."""
    counter = log_entries_totals(campaign=campaign)
    totals = counter.totals()
    problems = [
        f"{campaign.slug}: the log holds money entries in {cur}, the campaign is kept in "
        f"{campaign.currency}"
        for cur in totals
        if cur != campaign.currency
    ]
    t = totals.get(campaign.currency) or Totals(campaign.currency, 0, 0, 0, 0)
    from_log = {
        "raised_minor": t.raised,
        "donation_count": t.gifts,
        "reversal_count": t.reversals,
        "reversed_minor": t.reversed,
        "disbursed_minor": t.disbursed,
    }
    for name, value in from_log.items():
        if getattr(stored, name) != value:
            problems.append(
                f"{campaign.slug}: {name} is {getattr(stored, name)}, the log entries give {value}"
            )
    return problems


_GIFT_LINES_SQL = (
    "SELECT t.id, t.kind, COALESCE(g.n, 0), COALESCE(g.s, 0), COALESCE(p.s, 0), "
    "COALESCE(g.other, 0) FROM ledger_journaltransaction t "
    "LEFT JOIN (SELECT d.txn_id, COUNT(*) AS n, SUM(d.amount_minor) AS s, "
    " SUM(CASE WHEN d.campaign_id <> x.campaign_id THEN 1 ELSE 0 END) AS other "
    " FROM donations_donation d JOIN ledger_journaltransaction x ON x.id = d.txn_id "
    " GROUP BY d.txn_id) g ON g.txn_id = t.id "
    "LEFT JOIN (SELECT txn_id, SUM(amount_minor) AS s FROM ledger_posting "
    " WHERE amount_minor > 0 GROUP BY txn_id) p ON p.txn_id = t.id "
    "WHERE (t.kind IN ('donation', 'deposit') OR g.n IS NOT NULL) AND ("
    " g.n IS NULL OR t.kind NOT IN ('donation', 'deposit') OR g.other > 0"
    " OR (t.kind = 'donation' AND g.n <> 1) OR g.s <> p.s)"
)


def gift_lines_problems() -> list[str]:
    """Gifts as the lines of their journal transactions: every gift belongs to exactly one
    transaction, of kind "donation" (the gift alone) or "deposit" (a batch's gifts to one
    campaign through one account), of the gift's campaign; such a transaction has gifts,
    and its gifts' amounts sum to its postings (the debit side; `unbalanced_transactions`
    proves the credit side equal)."""
    with connection.cursor() as cur:
        cur.execute(_GIFT_LINES_SQL)
        rows = cur.fetchall()
    problems = []
    for txn_id, kind, n, lines, posted, other in rows:
        if n == 0:
            problems.append(f"transaction {txn_id} ({kind}): no gift is booked in it")
        elif kind not in ("donation", "deposit"):
            problems.append(f"transaction {txn_id} ({kind}): {n} gifts belong to it")
        elif other:
            problems.append(f"transaction {txn_id} ({kind}): {other} gifts of another campaign")
        elif kind == "donation" and n != 1:
            problems.append(f"transaction {txn_id} (donation): {n} gifts, not one")
        else:
            problems.append(
                f"transaction {txn_id} ({kind}): its {n} gift lines sum to {lines}, "
                f"its postings to {posted}"
            )
    return problems


def ledger_check() -> CheckReport:
    """Recompute totals from postings and rows; report every difference."""
    report = CheckReport()
    for txn_id, currency, total in unbalanced_transactions():
        report.problems.append(
            f"transaction {txn_id}: postings in {currency or '?'} sum to {total} "
            "or it has fewer than two postings"
        )
    report.problems.extend(gift_lines_problems())
    review_open = review_open_counts()
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
            "review_count": review_open.get(campaign.pk, 0),
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
        report.problems.extend(_log_problems(campaign, stored))
        report.campaigns[campaign.slug] = recomputed
    with connection.cursor() as cur:
        cur.execute(
            # A gift's entry names it (`LogEntry.gift`, indexed) and carries its reference.
            "SELECT COUNT(*) FROM donations_donation d WHERE NOT EXISTS (SELECT 1 FROM "
            "transparency_logentry e WHERE e.gift = d.id AND e.kind = 'donation' "
            "AND e.ref = d.public_ref)"
        )
        (missing,) = cur.fetchone() or (0,)
    if missing:
        report.problems.append(f"{missing} booked gifts have no log entry")
    return report
