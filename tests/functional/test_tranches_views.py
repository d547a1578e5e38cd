"""The back office (/office/tranches/) and the public pages, through Django's test client."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.disbursements.models import Tranche, TrancheEvent
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    tranche_approve,
    tranche_handover,
)
from solidarity.apps.ledger.selectors import campaign_totals
from tests.factories import office_login
from tests.integration.tranche_helpers import PASSWORD, funded_campaign, people, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return people()


def client_for(username: str) -> Client:
    c = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    assert office_login(c, username, PASSWORD)
    return c


def post(c: Client, url: str, data: dict | None = None):
    """POST to an action of a tranche, with the CSRF token its detail page set."""
    detail = url.rstrip("/").rsplit("/", 1)[0] + "/"
    assert c.get(detail).status_code == 200
    return c.post(url, {**(data or {}), "csrfmiddlewaretoken": c.cookies["csrftoken"].value})


def test_the_office_needs_a_login_and_a_role(who):
    assert Client().get("/office/tranches/").status_code == 302
    from django.contrib.auth.models import User

    nobody = User.objects.create_user(username="nobody", password=PASSWORD)
    client = Client()
    assert not office_login(client, "nobody", PASSWORD)  # no role: the login page refuses
    client.force_login(nobody)  # a session without a role is refused page by page too
    assert client.get("/office/tranches/").status_code == 403


def test_propose_approve_and_hand_over_in_the_office(who):
    campaign = funded_campaign(1_000_000)
    thu, lan, minh = client_for("thu"), client_for("lan"), client_for("minh")
    # Given a proposal typed in Vietnamese notation with goods and evidence
    page = thu.get("/office/tranches/new/")
    assert page.status_code == 200
    token = thu.cookies["csrftoken"].value
    response = thu.post(
        "/office/tranches/new/",
        {
            "csrfmiddlewaretoken": token,
            "campaign": "cuba",
            "recipient": "Hội Chữ thập đỏ Cuba",
            "amount": "600.000",
            "date": "2025-09-01",
            "purpose": "rice",
            "items": "masks:100:piece:1000",
            "evidence_kind": "transfer_order",
            "evidence": SimpleUploadedFile("order.pdf", b"%PDF-1.7 order"),
        },
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tranche = Tranche.objects.get()
    assert tranche.amount_minor == 600_000
    url = f"/office/tranches/{tranche.pk}/"
    assert "Hội Chữ thập đỏ Cuba" in thu.get(url).content.decode()
    # Without a CSRF token nothing happens
    assert lan.post(url + "approve/").status_code == 403
    # The proposer's role does not allow approving
    refused = post(thu, url + "approve/")
    assert refused.status_code == 403
    assert "approver role" in refused.content.decode()
    # Two distinct approvers; the same one twice is refused with a message
    assert post(lan, url + "approve/").status_code == 302
    again = post(lan, url + "approve/")
    assert again.status_code == 400
    assert "already approved" in again.content.decode()
    assert TrancheEvent.objects.filter(action="approved").count() == 1
    assert post(minh, url + "approve/").status_code == 302
    tranche.refresh_from_db()
    assert tranche.status == "approved"
    # When the accountant records the handover with the minutes
    token = thu.cookies["csrftoken"].value
    done = thu.post(
        url + "handover/",
        {
            "csrfmiddlewaretoken": token,
            "evidence_kind": "handover_minutes",
            "evidence": SimpleUploadedFile("minutes.jpg", b"\xff\xd8\xff\xe0minutes"),
        },
    )
    assert done.status_code == 302
    # Then the books move
    assert campaign_totals(campaign=campaign)["disbursed_minor"] == 600_000
    assert ledger_check().ok


def test_an_amount_above_the_balance_is_refused_in_the_office(who):
    campaign = funded_campaign(100_000)
    tranche = propose(campaign, who["thu"], 200_000)
    response = post(client_for("lan"), f"/office/tranches/{tranche.pk}/approve/")
    assert response.status_code == 400
    assert "above what the campaign can still hand over" in response.content.decode()
    assert TrancheEvent.objects.filter(action="approved").count() == 0


def _handed_over(campaign, who, evidence=()):
    t = propose(campaign, who["thu"], 300_000, evidence=list(evidence))
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    return tranche_handover(tranche=t, by=who["thu"])


def test_public_page_shows_tranches_pending_index_and_balance(who):
    campaign = funded_campaign(1_000_000)
    t = _handed_over(campaign, who, [EvidenceInput("minutes.pdf", b"%PDF-1.4 m", "other")])
    html = Client().get("/en/c/cuba/tranches").content.decode()
    assert "Cuban Red Cross" in html
    assert "₫300,000" in html
    assert "₫700,000" in html  # balance left
    assert "pending" in html
    assert f"tranche-{t.pk}" in html
    assert Client().get("/vi/c/cuba/tranches").status_code == 200


def test_the_campaign_page_include_renders(who):
    from django.template.loader import render_to_string

    campaign = funded_campaign(1_000_000)
    _handed_over(campaign, who)
    html = render_to_string("disbursements/_where_the_money_went.html", {"campaign": campaign})
    assert "Cuban Red Cross" in html
    assert "/c/cuba/tranches" in html


def test_evidence_is_served_with_safe_types(who):
    campaign = funded_campaign(1_000_000)
    pdf, html_file = b"%PDF-1.4 minutes", b"<html><script>alert(1)</script></html>"
    t = _handed_over(
        campaign,
        who,
        [EvidenceInput("minutes.pdf", pdf, "handover_minutes"), EvidenceInput("x.html", html_file)],
    )
    by_name = {e.name: e for e in t.evidence.all()}
    ok = Client().get(f"/c/cuba/tranches/evidence/{by_name['minutes.pdf'].sha256}")
    assert ok.status_code == 200
    assert ok["Content-Type"] == "application/pdf"
    assert ok["X-Content-Type-Options"] == "nosniff"
    assert b"".join(ok.streaming_content) == pdf
    ok.close()
    risky = Client().get(f"/c/cuba/tranches/evidence/{by_name['x.html'].sha256}")
    risky.close()
    assert risky["Content-Type"] == "application/octet-stream"
    assert risky["Content-Disposition"].startswith("attachment")
    assert risky["X-Content-Type-Options"] == "nosniff"
    assert Client().get("/c/cuba/tranches/evidence/" + "0" * 64).status_code == 404


def test_evidence_of_a_proposal_is_not_public_yet(who):
    campaign = funded_campaign(1_000_000)
    t = propose(campaign, who["thu"], 1000, evidence=[EvidenceInput("a.pdf", b"%PDF-1 x")])
    sha = t.evidence.get().sha256
    assert Client().get(f"/c/cuba/tranches/evidence/{sha}").status_code == 404


def test_oversized_evidence_is_refused(who, settings):
    from solidarity.apps.disbursements import services

    campaign = funded_campaign(1_000_000)
    big = b"%PDF-" + b"0" * services.MAX_EVIDENCE_BYTES
    with pytest.raises(services.TrancheRefused, match="the limit is"):
        propose(campaign, who["thu"], 1000, evidence=[EvidenceInput("big.pdf", big)])
    assert not Tranche.objects.exists()


def test_report_downloads_reconcile_with_the_ledger(who):
    campaign = funded_campaign(1_000_000)
    _handed_over(campaign, who)
    balance = campaign_totals(campaign=campaign)["balance_minor"]
    query = f"?from=2025-01-01&to={timezone.localdate().isoformat()}&lang=en"
    csv_response = Client().get("/c/cuba/report.csv" + query)
    assert csv_response.status_code == 200
    assert csv_response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert int(next(r for r in rows if r[0] == "Closing balance")[4]) == balance
    xlsx = Client().get("/c/cuba/report.xlsx" + query)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert int(values["Closing balance"]) == balance
    assert sheet._charts  # the gifts-by-day chart
    pdf = Client().get("/c/cuba/report.pdf" + query)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert Client().get("/c/cuba/report.pdf?from=2025-09-02&to=2025-09-01").status_code == 400


def test_the_pdf_renders_and_its_totals_equal_the_ledger(who, tmp_path):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 (dev dependency) renders PDFs")
    campaign = funded_campaign(1_000_000)
    _handed_over(campaign, who)
    query = f"?from=2025-01-01&to={timezone.localdate()}&lang=vi"
    data = Client().get("/c/cuba/report.pdf" + query).content
    document = pdfium.PdfDocument(data)
    page = document[0]
    image = page.render(scale=1).to_pil()
    image.save(tmp_path / "page1.png")
    assert image.size[0] > 500
    # the page is not blank: the chart's red bars are there
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert (176, 0, 32) in {colour for _count, colour in colours}
    text = page.get_textpage().get_text_range()
    totals = campaign_totals(campaign=campaign)
    assert "1.000.000 ₫" in text  # gifts
    assert "300.000 ₫" in text  # tranche
    assert f"{totals['balance_minor']:,}".replace(",", ".") + " ₫" in text
    assert re.search(r"Vì Cuba", text)


def test_csv_cells_cannot_run_formulas(who):
    campaign = funded_campaign(1_000_000)
    t = propose(campaign, who["thu"], 1000, recipient='=HYPERLINK("http://x")')
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    tranche_handover(tranche=t, by=who["thu"])
    body = Client().get(f"/c/cuba/report.csv?from=2025-01-01&to={timezone.localdate()}").content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert '\'=HYPERLINK("http://x")' in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
