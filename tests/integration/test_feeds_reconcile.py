"""Feeds against statements: each transfer booked once whichever channel saw it first;
feed gifts no statement confirms are flagged. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from solidarity.apps.banking.accounts import AccountRef
from solidarity.apps.banking.booking import bank_transactions_book
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.selectors import unconfirmed_refs
from solidarity.apps.feeds.services import (
    feed_add,
    notification_book,
    notification_store,
    notifications_flag_unconfirmed,
)
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.core import webhooks as w
from solidarity.core.statements import BankTransaction
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db

ACCOUNT = AccountInput("970436", "0011001932418", "HOI CTD")
WHEN = datetime(2025, 8, 25, 23, 50, tzinfo=w.VIETNAM_TZ)


@pytest.fixture
def feed():
    campaign_factory(accounts=(ACCOUNT,))
    return feed_add(name="vcb", kind="sepay", account="970436:0011001932418")[0]


def webhook(
    feed, n: int, amount: int = 200_000, ref: str | None = None, memo: str | None = None
) -> Notification:
    body = json.dumps(
        {
            "id": n,
            "transactionDate": WHEN.strftime("%Y-%m-%d %H:%M:%S"),
            "accountNumber": ACCOUNT.number,
            "content": memo or f"CUBA NGUYEN VAN {n}",
            "transferType": "in",
            "transferAmount": amount,
            "referenceCode": ref if ref is not None else f"FT{n}",
        }
    ).encode()
    row, _ = notification_store(
        feed=feed, transfer=w.sepay_parse(body), headers={}, body=body.decode()
    )
    return notification_book(notification=row)


def statement(*lines: tuple[str, int, str | None, timedelta, str]):
    txs = [
        BankTransaction(
            account=ACCOUNT.number,
            bin=None,
            currency="VND",
            amount_minor=amount,
            direction="credit",
            booked_at=WHEN + shift,
            value_date=None,
            bank_ref=ref,
            memo=memo,
            counterparty_name=None,
            counterparty_account=None,
            is_reversal=False,
            reverses_ref=None,
            source_format="csv",
            line=i + 1,
            identity=identity,
        )
        for i, (identity, amount, ref, shift, memo) in enumerate(lines)
    ]
    return bank_transactions_book(
        transactions=txs, source_kind="statement", account=AccountRef("970436", ACCOUNT.number)
    )


def test_webhook_then_statement_is_booked_once(feed):
    # Given a gift booked from the bank feed
    n = webhook(feed, 1)
    assert n.status == "booked"
    # When the statement arrives with the same transfer (next day, same reference, other case)
    report = statement(("stmt|1", 200_000, "ft1", timedelta(hours=2), "CUBA NGUYEN VAN 1"))
    # Then the statement confirms it instead of booking it again, even when imported twice
    assert (report.booked, report.duplicates) == (0, 1)
    n.refresh_from_db()
    assert n.confirmed_at is not None and n.confirmed_by == "stmt|1"
    again = statement(("stmt|1", 200_000, "ft1", timedelta(hours=2), "CUBA NGUYEN VAN 1"))
    assert (again.booked, again.duplicates) == (0, 1)
    assert Donation.objects.count() == 1


def test_rule_needs_amount_reference_and_date_window(feed):
    webhook(feed, 1)
    webhook(feed, 2)
    report = statement(
        ("s|a", 200_001, "FT1", timedelta(0), "x"),  # other amount
        ("s|b", 200_000, "FT9", timedelta(0), "x"),  # other reference
        ("s|c", 200_000, "FT2", timedelta(days=2), "x"),  # two days later
    )
    assert (report.booked, report.duplicates) == (3, 0)
    assert Donation.objects.count() == 5


def test_without_reference_the_memo_decides(feed):
    webhook(feed, 3, ref="")
    report = statement(("s|m", 200_000, None, timedelta(minutes=5), "CUBA  nguyen van 3"))
    assert (report.booked, report.duplicates) == (0, 1)


def test_statement_only_is_booked_from_the_statement(feed):
    report = statement(("stmt|9", 300_000, "FT9", timedelta(0), "CUBA LE VAN C"))
    assert report.booked == 1
    assert campaign_totals(campaign=Donation.objects.get().campaign)["raised_minor"] == 300_000


def test_statement_then_webhook_confirms_without_booking(feed):
    statement(("stmt|5", 200_000, "FT5", timedelta(0), "CUBA NGUYEN VAN 5"))
    n = webhook(feed, 5)
    assert n.status == "confirmed"
    assert Donation.objects.count() == 1
    assert n.donation == Donation.objects.get()


def test_a_transfer_held_for_review_by_one_channel_is_not_queued_again_by_the_other(feed):
    from solidarity.apps.banking.models import ReviewItem

    # Given a second campaign on the account: a memo naming neither goes to review
    campaign_factory(slug="flood", code="LULUT", accounts=(ACCOUNT,))
    # When the feed sees a transfer first, then the statement (twice)
    n = webhook(feed, 7, memo="chuyen tien 7")
    assert n.status == "review"
    line = ("stmt|7", 200_000, "FT7", timedelta(hours=1), "chuyen tien 7")
    report = statement(line)
    # Then the statement line is that review item, not a second one
    assert (report.booked, report.to_review, report.duplicates) == (0, 0, 1)
    n.refresh_from_db()
    assert n.confirmed_by == "stmt|7"
    assert statement(line).duplicates == 1
    # When the statement holds a transfer for review first, then the feed sees it
    statement(("stmt|8", 300_000, "FT8", timedelta(0), "chuyen tien 8"))
    m = webhook(feed, 8, amount=300_000, memo="chuyen tien 8")
    # Then the notification is confirmed by that line and books nothing of its own
    assert (m.status, m.confirmed_by) == ("confirmed", "stmt|8")
    assert ReviewItem.objects.count() == 2
    assert Donation.objects.count() == 0
    # and a second notification of another transfer with that amount still gets its own item
    assert webhook(feed, 9, amount=300_000, memo="chuyen tien 9").status == "review"
    assert ReviewItem.objects.count() == 3


def test_one_booker_batch_confirms_each_statement_gift_once(feed):
    from solidarity.apps.feeds.services import notifications_process

    # Given two statement gifts alike in all but identity (no reference, same memo and amount)
    alike = (200_000, None, timedelta(0), "CUBA ung ho")
    statement(("s|x1", *alike), ("s|x2", *alike))
    # When the feed's two notifications of them are booked in one batch
    for n in (1, 2):
        body = json.dumps(
            {
                "id": n,
                "transactionDate": WHEN.strftime("%Y-%m-%d %H:%M:%S"),
                "accountNumber": ACCOUNT.number,
                "content": "CUBA ung ho",
                "transferType": "in",
                "transferAmount": 200_000,
                "referenceCode": "",
            }
        ).encode()
        notification_store(feed=feed, transfer=w.sepay_parse(body), headers={}, body=body.decode())
    notifications_process()
    # Then each confirms a different gift, and nothing is booked twice
    rows = list(Notification.objects.values_list("status", "donation_id"))
    assert [status for status, _ in rows] == ["confirmed", "confirmed"]
    assert len({gift for _, gift in rows}) == 2
    assert Donation.objects.count() == 2


def test_webhook_only_is_flagged_after_the_confirm_days(feed):
    n = webhook(feed, 7)
    ref = n.donation.public_ref
    assert unconfirmed_refs(refs=[ref]) == set()
    assert notifications_flag_unconfirmed(days=3) == 1  # WHEN is long past
    assert unconfirmed_refs(refs=[ref]) == {ref}
    # a statement that confirms it later clears the mark
    statement(("stmt|7", 200_000, "FT7", timedelta(0), "x"))
    assert unconfirmed_refs(refs=[ref]) == set()


def test_the_public_statement_marks_a_flagged_gift_unconfirmed(feed, client):
    # Given a feed gift that no statement confirmed in time
    ref = webhook(feed, 8).donation.public_ref
    notifications_flag_unconfirmed(days=3)
    # When the public statement is read in Vietnamese
    html = client.get("/vi/c/cuba/statement").content.decode()
    # Then its row carries the mark, in the reader's language
    row = next(r for r in html.split("<tr>") if ref in r)
    assert "chưa xác nhận" in row


def test_one_batch_reconciles_many_credits_each_notification_once(feed):
    # Given three feed gifts, one with a reference the statement prints in another case
    for n in (1, 2, 3):
        webhook(feed, n)
    # When one statement batch carries them among other credits, FT2 printed twice
    report = statement(
        ("s|1", 200_000, "ft1", timedelta(hours=1), "x"),
        ("s|2", 200_000, "FT2", timedelta(hours=1), "x"),
        ("s|2b", 200_000, "FT2", timedelta(hours=3), "x"),  # a second transfer, same ref
        ("s|3", 200_000, "Ft3", timedelta(days=-1), "x"),
        ("s|4", 200_000, "FT4", timedelta(0), "x"),
    )
    # Then each notification confirms exactly one line, in statement order
    assert (report.booked, report.duplicates) == (2, 3)
    confirmed = dict(Notification.objects.values_list("provider_id", "confirmed_by"))
    assert confirmed == {"1": "s|1", "2": "s|2", "3": "s|3"}
    assert Donation.objects.count() == 5


def _notification_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "feeds_notification" in q["sql"]]


def test_reconciliation_queries_do_not_grow_with_the_credits(feed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lines = [(f"s|{i}", 100_000 + i, f"REF{i}", timedelta(minutes=i), "x") for i in range(60)]
    # A statement-only window: one indexed EXISTS, whatever the number of credits
    with CaptureQueriesContext(connection) as ctx:
        statement(*lines[:30])
    assert len(_notification_queries(ctx.captured_queries)) == 1
    # With feed gifts in the window: the EXISTS, one fetch, one update of the confirmed
    webhook(feed, 1, amount=100_040, ref="ref40")
    webhook(feed, 2, amount=100_041, ref="REF41")
    with CaptureQueriesContext(connection) as ctx:
        report = statement(*lines[30:])
    assert (report.booked, report.duplicates) == (28, 2)
    assert len(_notification_queries(ctx.captured_queries)) == 3
