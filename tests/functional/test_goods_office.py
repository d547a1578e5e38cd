"""The back office's goods page (/office/goods/) and the public pages that show goods,
through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from solidarity.apps.disbursements.models import InKindGift
from solidarity.apps.disbursements.selectors import in_kind_totals
from solidarity.apps.transparency.models import LogEntry
from tests.factories import office_login
from tests.integration.tranche_helpers import PASSWORD, funded_campaign, people

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return people()


def client_for(username: str, lang: str = "vi") -> Client:
    c = Client(enforce_csrf_checks=True, headers={"Accept-Language": lang})
    assert office_login(c, username, PASSWORD)
    return c


def _post(c: Client, url: str, data: dict):
    assert c.get("/office/goods/").status_code == 200
    return c.post(url, {**data, "csrfmiddlewaretoken": c.cookies["csrftoken"].value})


def test_the_goods_page_needs_a_login_and_a_role(who):
    funded_campaign()
    assert Client().get("/office/goods/").status_code == 302
    from django.contrib.auth.models import User

    nobody = Client()  # no role, so the admin's login page would not let them in
    nobody.force_login(User.objects.create_user(username="nobody", password=PASSWORD))
    assert nobody.get("/office/goods/").status_code == 403
    # an auditor sees the list but no form, and may not record
    auditor = client_for("an")
    page = auditor.get("/office/goods/").content.decode()
    assert "Chưa nhận hiện vật nào." in page
    assert 'name="items"' not in page
    auditor = Client()  # the role check, not the CSRF check, refuses this one
    assert office_login(auditor, "an", PASSWORD)
    refused = auditor.post("/office/goods/", {"campaign": "cuba"})
    assert refused.status_code == 403
    assert not InKindGift.objects.exists()


def test_an_accountant_records_goods_typed_the_vietnamese_way(who):
    campaign = funded_campaign()
    thu = client_for("thu")
    # Given goods typed as a Vietnamese accountant writes numbers, with a delivery note
    response = _post(
        thu,
        "/office/goods/",
        {
            "campaign": "cuba",
            "donor_kind": "person",
            "donor": "Nguyễn Văn An",
            "privacy": "masked",
            "received_on": "2025-09-12",
            "items": "đường: 2,5: tấn: 20.000.000\nthuốc hạ sốt: 10.000: hộp: 150.000",
            "note": "gọi trước khi giao",
            "evidence_kind": "delivery_note",
            "evidence": SimpleUploadedFile("phieu.pdf", b"%PDF-1.4 phieu nhap kho"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    gift = InKindGift.objects.get()
    assert gift.total_minor == 50_000_000 + 1_500_000_000
    assert in_kind_totals(campaign)["received_minor"] == gift.total_minor
    # Then the office lists it in Vietnamese notation, with the evidence it can open
    page = thu.get("/office/goods/").content.decode()
    assert "12/09/2025" in page
    assert "10.000 hộp" in page and "2,5 tấn" in page and "1E+4" not in page
    assert "1.550.000.000" in page
    assert "Nguyễn Văn An" in page  # the office sees the name given ...
    sha = gift.evidence.get().sha256
    opened = thu.get(f"/office/goods/{gift.pk}/evidence/{sha}")
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content) == b"%PDF-1.4 phieu nhap kho"
    opened.close()
    # ... the public only the masked name, and not the person's file
    public = Client().get("/vi/c/cuba/tranches").content.decode()
    assert gift.donor in public and "Nguyễn Văn An" not in public
    assert "10.000" in public and "2,5" in public
    assert Client().get(f"/c/cuba/tranches/evidence/{sha}").status_code == 404
    assert "gọi trước khi giao" not in public
    campaign_page = Client().get("/vi/c/cuba/").content.decode()
    assert "Hiện vật đã nhận" in campaign_page and gift.donor in campaign_page


def test_an_organizations_evidence_is_public(who):
    funded_campaign()
    thu = client_for("thu", "en")
    response = _post(
        thu,
        "/office/goods/",
        {
            "campaign": "cuba",
            "donor_kind": "organization",
            "donor": "Công ty Dược ABC",
            "privacy": "masked",
            "received_on": "2025-09-10",
            "items": "masks:10,000:box:1,500",
            "evidence_kind": "delivery_note",
            "evidence": SimpleUploadedFile("note.pdf", b"%PDF-1.4 delivery"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    gift = InKindGift.objects.get()
    assert gift.donor == "Công ty Dược ABC"
    sha = gift.evidence.get().sha256
    served = Client().get(f"/c/cuba/tranches/evidence/{sha}")
    assert served.status_code == 200
    assert served["X-Content-Type-Options"] == "nosniff"
    served.close()


def test_bad_goods_are_refused_with_every_reason_and_nothing_written(who):
    funded_campaign()
    thu = client_for("thu")
    entries = LogEntry.objects.count()
    response = _post(
        thu,
        "/office/goods/",
        {
            "campaign": "cuba",
            "donor_kind": "organization",
            "donor": "",
            "privacy": "masked",
            "received_on": "2025-09-10",
            "items": "masks:1.5:box:1000",  # 1.5 is not a Vietnamese number
        },
    )
    assert response.status_code == 400
    assert "quantity" in response.content.decode()
    response = _post(
        thu,
        "/office/goods/",
        {
            "campaign": "cuba",
            "donor_kind": "organization",
            "donor": "",
            "privacy": "masked",
            "received_on": "2025-09-10",
            "items": "masks:1,5:box:1000",
        },
    )
    assert response.status_code == 400
    assert "an organization needs its name" in response.content.decode()
    assert not InKindGift.objects.exists()
    assert LogEntry.objects.count() == entries


def test_a_csv_import_is_all_or_nothing_with_line_and_field(who):
    campaign = funded_campaign()
    thu = client_for("thu")
    bad = (
        "date,donor,item,quantity,unit,unit_value\n"
        "10/09/2025,Công ty Dược ABC,thuốc,10.000,hộp,150.000\n"
        "31/09/2025,Công ty Dược ABC,khẩu trang,abc,hộp,50.000\n"
    ).encode()
    response = _post(
        thu,
        "/office/goods/import/",
        {"campaign": "cuba", "file": SimpleUploadedFile("hang.csv", bad, "text/csv")},
    )
    assert response.status_code == 400
    page = response.content.decode()
    rows = re.findall(
        r'<tr class="located-error"><td>([^<]*)</td>'
        r'<td class="num">(\d+)</td><td><code>(\w+)</code>',
        page,
    )
    assert rows == [("hang.csv", "3", "date"), ("hang.csv", "3", "quantity")]
    assert not InKindGift.objects.exists()
    good = bad.replace(b"31/09/2025", b"11/09/2025").replace(b",abc,", b",2.000,")
    response = _post(
        thu,
        "/office/goods/import/",
        {"campaign": "cuba", "file": SimpleUploadedFile("hang.csv", good, "text/csv")},
    )
    assert response.status_code == 302
    assert InKindGift.objects.count() == 2
    assert in_kind_totals(campaign)["received_minor"] == 1_500_000_000 + 100_000_000
