"""The back office: statement upload and the review queue, through Django's test client."""

from __future__ import annotations

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.imports import views
from solidarity.apps.imports.jobs import import_jobs_run
from solidarity.apps.imports.models import Import, ImportUpload
from tests.conftest import REPO
from tests.factories import campaign_factory, office_login

pytestmark = pytest.mark.django_db
VCB_CSV = REPO / "tests" / "core" / "statements" / "golden" / "vn" / "vietcombank_bilingual.csv"


@pytest.fixture
def accountant_client():
    user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")
    client = Client(enforce_csrf_checks=True)
    assert office_login(client, "ke-toan", "a-long-passphrase-1")
    return client


def _csrf(client: Client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_only_accountants_may_import_and_auditors_read():
    assert Client().get("/office/imports/").status_code == 302  # to the login page
    user_add(username="aud", role="auditor", password="a-long-passphrase-2")
    client = Client()
    assert office_login(client, "aud", "a-long-passphrase-2")
    assert client.get("/office/imports/").status_code == 200
    assert client.get("/office/review/").status_code == 200
    with open(VCB_CSV, "rb") as f:
        assert client.post("/office/imports/", {"file": f}).status_code == 403
    assert not Import.objects.exists()


def test_upload_shows_the_report_and_review_decides(accountant_client):
    shared = (AccountInput("970436", "0011001932418"),)
    campaign_factory(slug="flood", code="LULUT", keywords=["lu lut"], goal=10**12, accounts=shared)
    campaign_factory(slug="cuba", goal=10**12, accounts=shared)
    url = "/office/imports/"
    token = _csrf(accountant_client, url)
    # Without the CSRF token the upload is refused
    with open(VCB_CSV, "rb") as f:
        assert accountant_client.post(url, {"file": f}).status_code == 403
    with open(VCB_CSV, "rb") as f:
        queued = accountant_client.post(url, {"file": f, "csrfmiddlewaretoken": token})
    # The upload is stored and queued: the web worker reads nothing
    assert queued.status_code == 303
    job = Import.objects.get()
    assert queued["Location"] == f"{url}?job={job.pk}"
    assert (job.status, job.by) == ("queued", "ke-toan")
    waiting = accountant_client.get(queued["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting for the import worker" in waiting and 'http-equiv="refresh"' in waiting
    assert not ReviewItem.objects.exists()
    # The import worker runs it; the page then shows the result
    (report,) = import_jobs_run()
    assert report.status == "done"
    body = accountant_client.get(queued["Location"]).content.decode()
    assert "vietcombank_bilingual.csv" in body and "http-equiv" not in body
    assert not ImportUpload.objects.exists()
    assert ReviewItem.objects.filter(status="open").count() == 3
    # The review page assigns an item
    item = ReviewItem.objects.filter(status="open").first()
    token = _csrf(accountant_client, "/office/review/")
    done = accountant_client.post(
        f"/office/review/{item.pk}/assign/", {"campaign": "cuba", "csrfmiddlewaretoken": token}
    )
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.status == "assigned"
    assert Donation.objects.filter(campaign__slug="cuba").count() == 1
    refused = accountant_client.post(
        f"/office/review/{item.pk}/reject/", {"reason": "x", "csrfmiddlewaretoken": token}
    )
    assert refused.status_code == 400


def test_upload_size_limit_and_broken_file(accountant_client, monkeypatch, tmp_path):
    campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    token = _csrf(accountant_client, "/office/imports/")
    monkeypatch.setattr(views, "MAX_UPLOAD_BYTES", 100)
    with open(VCB_CSV, "rb") as f:
        big = accountant_client.post("/office/imports/", {"file": f, "csrfmiddlewaretoken": token})
    assert big.status_code == 413
    monkeypatch.setattr(views, "MAX_UPLOAD_BYTES", 10**6)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><Document>&a;</Document>"
    )
    with open(broken, "rb") as f:
        page = accountant_client.post("/office/imports/", {"file": f, "csrfmiddlewaretoken": token})
    assert page.status_code == 303
    import_jobs_run()
    body = accountant_client.get(page["Location"]).content.decode()
    assert "broken.xml" in body and "forbidden XML construct" in body
    assert Import.objects.get().status == "refused"
    assert Donation.objects.count() == 0


def test_a_returned_transfer_without_its_gift_is_booked_as_money_out(accountant_client):
    # Given the Vietcombank export, whose returned transfer names a gift not in these books
    from solidarity.apps.banking.models import AccountMovement, PendingReversal
    from solidarity.apps.imports.services import statement_import

    campaign_factory(goal=10**12, accounts=(AccountInput("970436", "0011001932418"),))
    statement_import(path=VCB_CSV)
    pending = PendingReversal.objects.get()
    url = f"/office/review/returns/{pending.pk}/post/"
    page = accountant_client.get("/office/review/").content.decode()
    assert "FT24256341600001" in page and f'action="{url}"' in page
    token = _csrf(accountant_client, "/office/review/")
    # When it is posted without a reason, nothing changes
    refused = accountant_client.post(url, {"reason": " ", "csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and "a reason is required" in refused.content.decode()
    assert not AccountMovement.objects.filter(kind="transfer_out").exists()
    # Then with a reason it is money out, and leaves the waiting list
    done = accountant_client.post(
        url, {"reason": "gift received before these books", "csrfmiddlewaretoken": token}
    )
    assert done.status_code == 302
    assert AccountMovement.objects.get(kind="transfer_out").amount_minor == pending.amount_minor
    assert "FT24256341600001" not in accountant_client.get("/office/review/").content.decode()


def test_a_donor_list_with_a_swapped_date_shows_its_warning(accountant_client, tmp_path):
    from tests.core.statements.front_files import FRONT_ACCOUNT, front_xlsx

    campaign_factory(
        slug="yagi", code="FRONTYB", goal=10**12, accounts=(AccountInput("VBSP", FRONT_ACCOUNT),)
    )
    url = "/office/imports/"
    token = _csrf(accountant_client, url)
    path = front_xlsx(tmp_path / "front.xlsx")
    with open(path, "rb") as f:
        queued = accountant_client.post(
            url, {"file": f, "account": f"VBSP:{FRONT_ACCOUNT}", "csrfmiddlewaretoken": token}
        )
    assert queued.status_code == 303
    (report,) = import_jobs_run()
    assert (report.status, report.counts.booked) == ("done", 7)
    body = accountant_client.get(queued["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Booked with corrections: check these rows" in body
    assert "cell B9 holds the date 09/12/2024" in body
    assert "Refused: nothing from this file was booked" not in body
    # A bank name the office does not know is refused with the reason, nothing queued
    with open(path, "rb") as f:
        bad = accountant_client.post(
            url, {"file": f, "account": f"NOPE:{FRONT_ACCOUNT}", "csrfmiddlewaretoken": token}
        )
    assert bad.status_code == 400
    assert "unknown bank" in bad.content.decode()
    assert Import.objects.count() == 1
