"""Statement imports through the one booking door. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench.gen_statement import statement_write

from solidarity.apps.banking.accounts import AccountRef
from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, PendingReversal, ReviewItem
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation, DonationPrivate, Reversal
from solidarity.apps.imports.models import Import
from solidarity.apps.imports.services import statement_import
from solidarity.apps.ledger.models import JournalTransaction, Posting
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.core.statements import Profile, profile_load, statement_read
from tests.conftest import REPO, SHARED_TESTDATA
from tests.factories import OPENS, campaign_factory

pytestmark = pytest.mark.django_db

VN = REPO / "tests" / "core" / "statements" / "golden" / "vn"
VCB = "970436"
SAMPLES = sorted(
    p
    for p in (SHARED_TESTDATA / "statements").glob("*/*")
    if p.is_file() and p.name != "sparkassen.sta"
)
VN_FILES = sorted(p for p in VN.iterdir() if p.suffix in (".csv", ".txt", ".xlsx"))


def _number(stated: str) -> str:
    """The receiving account a test campaign registers for a stated account (IBAN and
    BLZ/number forms end with it)."""
    return re.sub(r"\D", "", stated)[-19:]


def _campaign_for(path: Path, profile: Profile | None = None, slug: str = "c") -> Campaign:
    txs = list(statement_read(path, name=path.name, profile=profile))
    accounts = sorted({(t.bin or VCB, t.account) for t in txs})
    currency = txs[0].currency if txs else "EUR"
    # The sample statements are years old: the campaign opened when they begin, so their
    # dates fall inside its plausible window.
    opened = min((t.booked_at for t in txs), default=OPENS)
    last = max((t.booked_at for t in txs), default=OPENS)
    return campaign_factory(
        slug=slug,
        currency=currency,
        goal=10**12,
        opens_at=min(opened, OPENS),
        # open until after the last transaction: a transfer after the close goes to review
        days=max(65, (last - min(opened, OPENS)).days + 2),
        accounts=tuple(AccountInput(b, _number(a)) for b, a in accounts),
    )


def _expected(path: Path, profile: Profile | None = None) -> dict[str, int]:
    txs = list(statement_read(path, name=path.name, profile=profile))
    gifts = [t for t in txs if t.direction == "credit" and not t.is_reversal]
    returns = [t for t in txs if t.direction == "debit" and (t.is_reversal or t.reverses_ref)]
    return {
        "rows_read": len(txs),
        "booked": len(gifts),
        "returns": len(returns),
        "not_gifts": len(txs) - len(gifts) - len(returns),
    }


def _check(report, expected) -> None:
    c = report.counts
    assert report.status == "done", report.errors
    assert c.rows_read == expected["rows_read"]
    assert c.booked == expected["booked"]
    assert c.not_gifts == expected["not_gifts"]
    assert c.reversals + c.reversals_pending == expected["returns"]
    assert c.to_review == c.rejected == c.duplicates == 0


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_statement_imports_once(path: Path):
    # Given a campaign whose receiving accounts are the file's accounts
    campaign = _campaign_for(path)
    expected = _expected(path)
    # When the file is imported twice
    first = statement_import(path=path)
    again = statement_import(path=path)
    # Then the first run books every credit, posts every other movement, and the second
    # finds everything booked
    _check(first, expected)
    assert again.counts.duplicates == expected["rows_read"]
    assert again.counts.booked == again.counts.not_gifts == 0
    assert Donation.objects.filter(campaign=campaign).count() == expected["booked"]
    assert ledger_check().ok, ledger_check().problems
    assert Import.objects.filter(status="done", sha256=first.sha256).count() == 2


def test_sample_without_an_account_is_refused_naming_the_place():
    path = SHARED_TESTDATA / "statements" / "mt940" / "sparkassen.sta"
    report = statement_import(path=path)
    assert report.refused
    assert report.errors[0]["line"] >= 1
    assert ":25:" in report.errors[0]["field"] + report.errors[0]["message"]
    assert Import.objects.get(pk=report.import_id).status == "refused"


@pytest.mark.parametrize("path", VN_FILES, ids=lambda p: p.name)
def test_vietnamese_exports_import(path: Path):
    profile = None
    if (toml := path.with_suffix(".profile.toml")).exists():
        profile = profile_load(toml)
    campaign = _campaign_for(path, profile)
    _check(statement_import(path=path, profile=profile), _expected(path, profile))
    assert statement_import(path=path, profile=profile).counts.booked == 0
    assert campaign_totals(campaign=campaign)["review_count"] == 0
    assert ledger_check().ok


def test_gift_details_sender_private_memo_masked_reversal_and_fee(tmp_path: Path):
    # Given the Vietcombank export and a campaign on its account
    path = VN / "vietcombank_bilingual.csv"
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    report = statement_import(path=path)
    assert report.counts.booked == 6
    # Then the donor's name comes from the memo shape, published masked
    gift = Donation.objects.get(campaign=campaign, amount_minor=200_000)
    assert gift.display_name == "LE T** H**"
    assert gift.source == f"bank:{VCB}:0011001932418"
    assert gift.source_ref == "ref|5213.47231|credit|200000VND|2024-09-10"
    assert "0071000812345" not in gift.memo_public
    assert DonationPrivate.objects.get(donation=gift).donor_name == "LE THI HOA"
    # the SMS fee is an account movement against the bank account, never a gift
    fee = AccountMovement.objects.get()
    assert fee.kind == "fee"
    codes = dict(
        Posting.objects.filter(txn_id=fee.txn_id).values_list("account__code", "amount_minor")
    )
    assert codes == {
        f"asset:bank:{VCB}:0011001932418": -5500,
        f"expense:fees:{VCB}:0011001932418": 5500,
    }
    # the returned transfer names a gift not booked yet: it waits
    assert PendingReversal.objects.get().reverses_ref == "FT24256341600001"
    assert campaign_totals(campaign=campaign)["raised_minor"] == 11_251_000


def _csv(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    head = "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
    path.write_text(head + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_returned_transfer_reverses_its_gift_whichever_comes_first(tmp_path: Path):
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    gift_row = ("10/09/2024", "FT24254000000001", "", "300.000", "NGUYEN VAN AN ung ho CUBA")
    back_row = ("11/09/2024", "5213.1", "300.000", "", "HOAN TRA GD FT24254000000001 sai TK")
    # When the return arrives in an earlier import than its gift
    first = statement_import(path=_csv(tmp_path / "a.csv", [back_row]))
    assert first.counts.reversals_pending == 1
    second = statement_import(path=_csv(tmp_path / "b.csv", [gift_row, back_row]))
    # Then booking the gift applies the waiting reversal, once
    assert second.counts.booked == 1
    assert second.counts.reversals == 1
    assert second.counts.duplicates == 1
    assert Reversal.objects.count() == 1
    totals = campaign_totals(campaign=campaign)
    assert (totals["raised_minor"], totals["reversal_count"]) == (0, 1)
    # and a gift booked before its return is reversed at once
    g2 = ("12/09/2024", "FT24256000000002", "", "50.000", "ung ho cuba")
    b2 = ("12/09/2024", "5213.2", "50.000", "", "HOAN TRA GD FT24256000000002")
    assert statement_import(path=_csv(tmp_path / "c.csv", [g2, b2])).counts.reversals == 1
    assert ledger_check().ok


def test_a_return_whose_gift_never_comes_is_posted_as_money_out_once(tmp_path: Path):
    from solidarity.apps.accounts.services import user_add
    from solidarity.apps.banking.review import ReviewRefused, pending_reversal_post
    from solidarity.apps.banking.selectors import pending_returns
    from solidarity.apps.transparency.models import LogEntry

    # Given a returned transfer whose gift is not in these books
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    back = ("11/09/2024", "5213.1", "300.000", "", "HOAN TRA GD FT24254000000009 sai TK")
    statement_import(path=_csv(tmp_path / "a.csv", [back]))
    pending = PendingReversal.objects.get()
    assert [r["status"] for r in pending_returns()] == ["open"]
    accountant = user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")
    auditor = user_add(username="auditor", role="auditor", password="a-long-passphrase-2")
    with pytest.raises(ReviewRefused):
        pending_reversal_post(pending=pending, by=auditor, reason="x")
    with pytest.raises(ReviewRefused):
        pending_reversal_post(pending=pending, by=accountant, reason="  ")
    assert not AccountMovement.objects.exists()
    # When an accountant posts it as money out
    movement = pending_reversal_post(pending=pending, by=accountant, reason="before our books")
    # Then the bank account is credited out, with a public entry, and who and why are kept
    assert movement.kind == "transfer_out"
    codes = dict(
        Posting.objects.filter(txn_id=movement.txn_id).values_list("account__code", "amount_minor")
    )
    assert codes == {
        f"asset:bank:{VCB}:0011001932418": -300_000,
        f"equity:transfers:{VCB}:0011001932418": 300_000,
    }
    entry = LogEntry.objects.get(kind="account_movement")
    assert b'"movement":"transfer_out"' in bytes(entry.body)
    pending.refresh_from_db()
    assert (pending.decided_by, pending.decision_reason) == ("ke-toan", "before our books")
    assert [r["status"] for r in pending_returns(status="all")] == ["posted"]
    assert pending_returns() == []
    with pytest.raises(ReviewRefused):
        pending_reversal_post(pending=pending, by=accountant, reason="again")
    # and the gift, if it ever arrives, is booked whole: the return was settled as money out
    gift_row = ("10/09/2024", "FT24254000000009", "", "300.000", "NGUYEN VAN AN ung ho CUBA")
    report = statement_import(path=_csv(tmp_path / "b.csv", [gift_row, back]))
    assert (report.counts.booked, report.counts.reversals, report.counts.duplicates) == (1, 0, 1)
    assert campaign_totals(campaign=campaign)["raised_minor"] == 300_000
    assert ledger_check().ok, ledger_check().problems


def test_shared_account_memo_decides_else_review_then_assign_or_reject(
    tmp_path: Path, django_user_model
):
    from solidarity.apps.accounts.services import user_add
    from solidarity.apps.banking.review import ReviewRefused, review_assign, review_reject

    shared = (AccountInput(VCB, "0011001932418"),)
    cuba = campaign_factory(slug="cuba", code="CUBA", goal=10**12, accounts=shared)
    flood = campaign_factory(
        slug="flood", code="LULUT", keywords=["bao yagi"], goal=10**12, accounts=shared
    )
    rows = [
        ("10/09/2024", "1", "", "100.000", "Ung ho Cu Ba"),
        ("10/09/2024", "2", "", "200.000", "ung ho bao Yagi"),
        ("10/09/2024", "3", "", "300.000", "chuyen tien"),
        ("10/09/2024", "4", "", "400.000", "CUBA va LULUT"),
        ("10/09/2024", "5", "", "500.000", "lai tien gui"),
    ]
    report = statement_import(path=_csv(tmp_path / "s.csv", rows))
    assert (report.counts.booked, report.counts.to_review) == (2, 3)
    assert Donation.objects.get(campaign=cuba).amount_minor == 100_000
    assert Donation.objects.get(campaign=flood).amount_minor == 200_000
    # open items count for every candidate campaign
    assert campaign_totals(campaign=cuba)["review_count"] == 3
    assert campaign_totals(campaign=flood)["review_count"] == 3
    assert ledger_check().ok
    # re-importing puts nothing in the queue twice
    assert statement_import(path=_csv(tmp_path / "s.csv", rows)).counts.duplicates == 5
    accountant = user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")
    auditor = user_add(username="auditor", role="auditor", password="a-long-passphrase-2")
    none_item = ReviewItem.objects.get(amount_minor=300_000)
    with pytest.raises(ReviewRefused):
        review_assign(item=none_item, campaign=cuba, by=auditor)
    result = review_assign(item=none_item, campaign=cuba, by=accountant)
    none_item.refresh_from_db()
    assert (none_item.status, none_item.decided_by) == ("assigned", "ke-toan")
    assert none_item.decided_at is not None
    assert result.donation.source_ref == none_item.source_ref
    with pytest.raises(ReviewRefused):
        review_assign(item=none_item, campaign=cuba, by=accountant)
    interest = ReviewItem.objects.get(amount_minor=500_000)
    review_reject(item=interest, by=accountant, reason="bank interest")
    movement = AccountMovement.objects.get(source_ref=interest.source_ref)
    assert movement.kind == "transfer_in"
    interest.refresh_from_db()
    assert interest.movement_txn_id == movement.txn_id
    assert campaign_totals(campaign=cuba)["review_count"] == 1
    assert campaign_totals(campaign=flood)["review_count"] == 1
    # the several-campaigns item stays open; the decided ones are never booked again
    again = statement_import(path=_csv(tmp_path / "s.csv", rows))
    assert again.counts.duplicates == 5
    assert ledger_check().ok, ledger_check().problems


def test_forced_campaign_and_named_account(tmp_path: Path):
    shared = (AccountInput(VCB, "0011001932418"),)
    campaign_factory(slug="cuba", goal=10**12, accounts=shared)
    flood = campaign_factory(slug="flood", code="LULUT", goal=10**12, accounts=shared)
    path = tmp_path / "no-account.csv"
    path.write_text("Ngày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n10/09/2024,1,,100.000,chuyen tien\n")
    # a file that states no account needs --account
    assert statement_import(path=path).refused
    report = statement_import(path=path, account=AccountRef(VCB, "0011001932418"), campaign=flood)
    assert report.counts.booked == 1
    assert Donation.objects.get().campaign == flood
    # a file stating another account than --account is refused
    other = _csv(tmp_path / "o.csv", [("10/09/2024", "9", "", "1.000", "x")])
    refused = statement_import(path=other, account=AccountRef(VCB, "999999999"))
    assert refused.refused
    assert "not a receiving account" in refused.errors[0]["message"]


def test_unknown_account_refuses_the_whole_file(tmp_path: Path):
    campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "1234567"),))
    report = statement_import(path=VN / "vietcombank_bilingual.csv")
    assert report.refused
    assert report.errors[0]["line"] == 11
    assert "0011001932418" in report.errors[0]["message"]
    assert Donation.objects.count() == JournalTransaction.objects.count() == 0


HOSTILE = {
    "billion_laughs.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol2;</Document>',
    "xxe.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>',
    "broken.xml": b'<?xml version="1.0"?><Document><BkToCstmrStmt><Stmt>',
    "latin1.csv": "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi có,Nội dung\n"
    "10/09/2024,1,100.000,Ủng hộ\n".encode()
    + b"10/09/2024,2,100.000,\xe9t\xe9\n",
    "bad_date.csv": b"So tai khoan: 0011001932418\nNgay GD,So CT,Ghi co,Noi dung\n"
    b"10/09/2024,1,100.000,ok\n31/02/2024,2,100.000,impossible\n",
    "bad_amount.csv": b"So tai khoan: 0011001932418\nNgay GD,So CT,Ghi co,Noi dung\n"
    b"10/09/2024,1,100.000,ok\n11/09/2024,2,12abc,bad\n",
    "not_a_statement.csv": b"name,age\nan,30\n",
    "binary.bin": b"\x00\x01\x02\x03" * 100,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_malformed_files_are_refused_and_nothing_is_booked(tmp_path, name):
    campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    report = statement_import(path=path)
    assert report.refused
    assert report.errors
    assert all(e["file"] == name and e["message"] for e in report.errors)
    assert Donation.objects.count() == AccountMovement.objects.count() == 0
    assert ReviewItem.objects.count() == JournalTransaction.objects.count() == 0


def test_the_same_transactions_in_camt_and_csv_are_booked_once(tmp_path: Path):
    campaign = campaign_factory(goal=10**15, accounts=(AccountInput(VCB, "0011001932418"),))
    statement_write(tmp_path / "s.xml", rows=300, fmt="camt", seed=3)
    statement_write(tmp_path / "s.csv", rows=300, fmt="csv", seed=3)
    camt = statement_import(path=tmp_path / "s.xml")
    csv_ = statement_import(path=tmp_path / "s.csv")
    assert camt.counts.booked > 250
    assert csv_.counts.booked == csv_.counts.not_gifts == 0
    assert csv_.counts.duplicates + csv_.counts.reversals_pending == 300
    assert Donation.objects.filter(campaign=campaign).count() == camt.counts.booked
    assert ledger_check().ok


def test_dry_run_writes_nothing():
    campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    report = statement_import(path=VN / "vietcombank_bilingual.csv", dry_run=True)
    assert report.status == "done"
    assert report.counts.rows_read == 8
    assert Import.objects.count() == Donation.objects.count() == 0
