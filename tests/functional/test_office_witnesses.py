"""The back-office page of a campaign's witnesses: admins add, remove and set the quorum
through the same services as the CLI (each change in the log and the audit trail); every
office role reads; bad input is a translated form error, nothing written."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.services import user_add
from solidarity.apps.transparency.models import LogEntry, LogWitness, LogWitnessPolicy
from solidarity.core.tlog.cosignature import cosigner_key_generate
from tests.factories import campaign_factory, office_login
from tests.integration.tranche_helpers import PASSWORD, people

pytestmark = pytest.mark.django_db

PAGE = "/office/campaigns/cuba/witnesses/"


@pytest.fixture
def office(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    people()
    user_add(username="quan", role="admin", password=PASSWORD)
    return campaign_factory()


def client_for(username: str, language: str = "vi") -> Client:
    c = Client(headers={"Accept-Language": language})
    assert office_login(c, username, PASSWORD)
    return c


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def vkey(n: int) -> str:
    return cosigner_key_generate(f"w{n}.example.org", bytes([n]) * 32)[1]


def log_bodies(kind: str) -> list[dict]:
    return [json.loads(bytes(e.body)) for e in LogEntry.objects.filter(kind=kind).order_by("id")]


def test_admin_adds_witnesses_sets_the_quorum_and_removes_one(office):
    admin = client_for("quan", "en")
    # Given the campaign page links to its witnesses
    assert PAGE in text(admin.get("/office/campaigns/cuba/"))
    assert "No witness yet" in text(admin.get(PAGE))

    # When the admin adds two witnesses and asks for a quorum of 2
    for n in (1, 2):
        response = admin.post(PAGE + "add/", {"vkey": vkey(n), "url": f"https://w{n}.example.org/"})
        assert response.status_code == 302
        assert response["Location"] == PAGE + "?done=add"
    assert admin.post(PAGE + "quorum/", {"quorum": "2"}).status_code == 302

    # Then each change is announced in the log, as the CLI's are, and audited
    assert [(b["action"], b["vkey"]) for b in log_bodies("witness")] == [
        ("added", vkey(1)),
        ("added", vkey(2)),
    ]
    assert [b["quorum"] for b in log_bodies("witness_quorum")] == [2]
    actions = list(AuditEvent.objects.values_list("action", "target").order_by("id"))
    assert actions[-3:] == [
        ("office.campaign_witness_action", PAGE + a + "/") for a in ("add", "add", "quorum")
    ]
    page = text(admin.get(PAGE))
    assert 'id="witness-quorum">2<' in page
    assert "w1.example.org" in page and "https://w2.example.org/" in page

    # And what the sequencer last heard shows: latest cosigned size and last answer
    at = datetime(2025, 8, 26, 1, 30, tzinfo=UTC)
    LogWitness.objects.filter(name="w1.example.org").update(
        cosigned_size=1_700_004, cosigned_at=at, answered_at=at
    )
    LogWitnessPolicy.objects.filter(campaign=office).update(cosigned_size=1_700_004, cosigned_at=at)
    page = text(admin.get(PAGE))
    assert "1,700,004" in page
    assert "26/08/2025 08:30" in page  # Vietnam time

    # When the admin removes a witness below the quorum: refused, nothing written
    refused = admin.post(PAGE + "remove/", {"name": "w1.example.org"})
    assert refused.status_code == 400
    assert "lower the quorum first" in text(refused)
    assert LogWitness.objects.filter(removed_at__isnull=True).count() == 2
    # Then after lowering the quorum, the removal goes through and is announced
    assert admin.post(PAGE + "quorum/", {"quorum": "1"}).status_code == 302
    assert admin.post(PAGE + "remove/", {"name": "w1.example.org"}).status_code == 302
    assert [b["action"] for b in log_bodies("witness")] == ["added", "added", "removed"]
    page = text(admin.get(PAGE))
    assert "w1.example.org" not in page and "w2.example.org" in page


def test_bad_key_and_quorum_above_the_witnesses_are_form_errors_in_the_readers_language(office):
    admin = client_for("quan", "vi")
    # A log's key (type 0x01), not a witness's, is refused by the form
    from solidarity.core.tlog.note import key_generate

    log_vkey = key_generate("cuba.example.org", b"\x05" * 32)[1]
    for bad in (log_vkey, "not a key", vkey(1)[:-4]):
        response = admin.post(PAGE + "add/", {"vkey": bad, "url": "https://w.example.org/"})
        assert response.status_code == 400
        assert "Đây không phải là khóa xác minh của một nhân chứng" in text(response)
    response = admin.post(PAGE + "add/", {"vkey": vkey(1), "url": "ftp://w.example.org/"})
    assert response.status_code == 400
    # A quorum above the number of witnesses is refused, translated
    response = admin.post(PAGE + "quorum/", {"quorum": "1"})
    assert response.status_code == 400
    assert "số lượng tối thiểu 1: phải từ 0 đến 0 nhân chứng đang hoạt động" in text(response)
    # The same witness twice is refused, translated
    assert (
        admin.post(PAGE + "add/", {"vkey": vkey(1), "url": "https://w.example.org/"}).status_code
        == 302
    )
    response = admin.post(PAGE + "add/", {"vkey": vkey(1), "url": "https://w.example.org/"})
    assert response.status_code == 400
    assert "w1.example.org đã là nhân chứng của chiến dịch này" in text(response)
    assert len(log_bodies("witness")) == 1
    assert log_bodies("witness_quorum") == []
    assert admin.post(PAGE + "nothing/").status_code == 404


def test_other_office_roles_read_without_forms_and_cannot_change(office):
    admin = client_for("quan", "en")
    admin.post(PAGE + "add/", {"vkey": vkey(1), "url": "https://w1.example.org/"})
    for username in ("an", "thu", "lan"):
        reader = client_for(username, "en")
        page = text(reader.get(PAGE))
        assert "w1.example.org" in page
        assert "Add the witness" not in page and "Remove the witness" not in page
        assert reader.post(PAGE + "quorum/", {"quorum": "1"}).status_code == 403
        assert reader.post(PAGE + "remove/", {"name": "w1.example.org"}).status_code == 403
    assert LogWitness.objects.filter(removed_at__isnull=True).count() == 1
    assert Client().get(PAGE).status_code == 302  # to the login page
