"""Roles in the back office: who reads, who changes, TOTP, lockout and the audit trail."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.services import audit_record, totp_enrol, user_add
from solidarity.apps.disbursements.services import TrancheRefused, tranche_approve
from solidarity.apps.donations.services import donation_record
from solidarity.apps.feeds.models import Feed, Notification
from solidarity.apps.feeds.services import feed_add
from solidarity.apps.partners.models import ApiKey
from solidarity.apps.partners.services import partner_add
from solidarity.cli import main as cli_main
from tests.factories import campaign_factory, gift, office_login, totp_code
from tests.integration.tranche_helpers import funded_campaign, people, propose

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-passphrase-2025"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def logged_in(username: str, role: str) -> Client:
    user_add(username=username, role=role, password=PASSWORD)
    client = Client()
    assert office_login(client, username, PASSWORD)
    return client


def test_auditor_reads_books_but_cannot_change_them():
    campaign = campaign_factory()
    donation = donation_record(campaign=campaign, gift=gift(campaign)).donation
    client = logged_in("kiem", "auditor")
    user = User.objects.get(username="kiem")
    listing = client.get("/admin/donations/donation/")
    assert listing.status_code == 200
    assert donation.public_ref in listing.content.decode()
    assert client.get("/admin/campaigns/campaign/").status_code == 200
    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200
    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", {"slug": "renamed"})
    assert response.status_code == 403
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert user.has_perm("donations.view_donation")
    assert not user.has_perm("campaigns.change_campaign")
    assert not user.has_perm("disbursements.add_tranche")


def test_approver_may_act_on_tranches_and_accountant_on_imports():
    approver = user_add(username="duyet", role="approver", password="an-approver-passphrase-1")
    accountant = user_add(username="ketoan", role="accountant", password="an-accountant-pass-1")
    assert approver.has_perm("disbursements.change_tranche")
    assert not approver.has_perm("banking.change_reviewitem")
    assert accountant.has_perm("banking.change_reviewitem")
    assert not accountant.has_perm("disbursements.change_tranche")
    assert not accountant.has_perm("partners.change_partner")
    assert not accountant.has_perm("feeds.change_feed")
    assert not accountant.has_perm("feeds.delete_notification")


@pytest.mark.parametrize("role", ["auditor", "approver", "accountant"])
def test_only_an_admin_mints_partner_keys_in_the_admin(role):
    partner, _ = partner_add(name="bank-app", scopes=["gifts:write"])
    client = logged_in("someone", role)
    # Given the partner list, which every role reads
    assert client.get("/admin/partners/partner/").status_code == 200
    # When a non-admin posts the "create key" action, then no key is minted or shown
    page = client.post(
        "/admin/partners/partner/", {"action": "create_key", "_selected_action": [partner.pk]}
    )
    assert ApiKey.objects.filter(partner=partner).count() == 1
    assert "sk_" not in page.content.decode()
    assert not AuditEvent.objects.filter(action="admin.action.create_key").exists()
    # And an admin (with a verified TOTP device) can
    admin = logged_in("boss", "admin")
    page = admin.post(
        "/admin/partners/partner/",
        {"action": "create_key", "_selected_action": [partner.pk]},
        follow=True,
    )
    assert ApiKey.objects.filter(partner=partner).count() == 2
    assert "sk_" in page.content.decode()
    event = AuditEvent.objects.get(action="admin.action.create_key")
    assert (event.username, event.via, event.ip) == ("boss", "admin", "127.0.0.1")
    assert event.detail == {"ids": [str(partner.pk)]}


def test_nobody_deletes_or_edits_a_notification_in_the_admin():
    feed, _ = feed_add(name="vcb", kind="sepay")
    row = Notification.objects.create(
        feed=feed,
        provider_id="1",
        status="stored",
        amount_minor=1,
        body="{}",
        headers={},
        received_at=timezone.now(),
    )
    for username, role in (("kt", "accountant"), ("boss", "admin")):
        client = logged_in(username, role)
        assert client.get(f"/admin/feeds/notification/{row.pk}/change/").status_code == 200
        assert client.get(f"/admin/feeds/notification/{row.pk}/delete/").status_code == 403
        assert (
            client.post(f"/admin/feeds/notification/{row.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        assert client.post(f"/admin/feeds/notification/{row.pk}/change/", {}).status_code == 403
    assert Notification.objects.filter(pk=row.pk).exists()
    assert Feed.objects.filter(pk=feed.pk).exists()


def test_an_admin_without_the_approver_role_is_no_approval():
    who = people()
    campaign = funded_campaign(1_000_000)
    tranche = propose(campaign, who["thu"], 100_000)
    boss = user_add(username="boss", role="admin", password=PASSWORD)
    assert boss.is_superuser
    with pytest.raises(TrancheRefused, match="approver role"):
        tranche_approve(tranche=tranche, by=boss)
    assert not tranche.events.filter(action="approved").exists()


def test_admins_and_approvers_log_in_only_with_a_totp_code():
    user_add(username="lan", role="approver", password=PASSWORD)
    device = totp_enrol(user=User.objects.get(username="lan")).device
    assert device.config_url.startswith("otpauth://totp/")
    client = Client()
    # Without a code, or with a wrong one, the login is refused
    assert (
        client.post("/admin/login/", {"username": "lan", "password": PASSWORD}).status_code == 200
    )
    wrong = f"{(int(totp_code(device)) + 1) % 10**6:06d}"
    refused = client.post(
        "/admin/login/", {"username": "lan", "password": PASSWORD, "otp_token": wrong}
    )
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session
    # A failed code throttles the device: the right code is refused until the delay passes
    throttled = client.post(
        "/admin/login/",
        {"username": "lan", "password": PASSWORD, "otp_token": totp_code(device)},
    )
    assert throttled.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttle_reset()  # as when the delay has passed
    # With the code from the device, it is accepted
    ok = client.post(
        "/admin/login/",
        {"username": "lan", "password": PASSWORD, "otp_token": totp_code(device)},
    )
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200
    # An accountant needs no code
    user_add(username="kt", role="accountant", password=PASSWORD)
    assert (
        Client().post("/admin/login/", {"username": "kt", "password": PASSWORD}).status_code == 302
    )


def test_a_session_without_a_verified_device_changes_nothing():
    who = people()
    campaign = funded_campaign(1_000_000)
    tranche = propose(campaign, who["thu"], 100_000)
    client = Client()
    client.force_login(who["lan"])  # a password-only session, as before TOTP
    assert client.get("/admin/").status_code == 302  # to the login page
    response = client.post(f"/office/tranches/{tranche.pk}/approve/", {})
    assert response.status_code == 403
    assert not tranche.events.filter(action="approved").exists()
    # After a login with a code, the same approval goes through
    client = Client()
    assert office_login(client, "lan", PASSWORD)
    assert client.post(f"/office/tranches/{tranche.pk}/approve/", {}).status_code == 302
    assert tranche.events.filter(action="approved").count() == 1
    event = AuditEvent.objects.get(action="office.office_action")
    assert (event.username, event.via, event.target) == (
        "lan",
        "office",
        f"/office/tranches/{tranche.pk}/approve/",
    )


def test_password_guessing_is_locked_out_and_unlocked_by_command(settings, capsys):
    settings.AXES_FAILURE_LIMIT = 3
    user_add(username="kt", role="accountant", password=PASSWORD)
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": "kt", "password": "guess"})
    # The right password is refused too while the lockout lasts
    locked = client.post("/admin/login/", {"username": "kt", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert cli_main(["user", "unlock", "kt"]) == 0
    assert "logins are allowed again" in capsys.readouterr().out
    assert client.post("/admin/login/", {"username": "kt", "password": PASSWORD}).status_code == 302
    assert AuditEvent.objects.filter(action="cli.user.unlock", target="kt").exists()


def test_admin_changes_are_in_the_append_only_audit_trail(capsys):
    client = logged_in("boss", "admin")
    # Given a change made in the admin
    response = client.post("/admin/auth/group/add/", {"name": "volunteers"})
    assert response.status_code == 302
    group = Group.objects.get(name="volunteers")
    event = AuditEvent.objects.get(action="admin.add")
    assert (event.username, event.roles, event.via, event.target, event.ip) == (
        "boss",
        "admin",
        "admin",
        f"auth.group:{group.pk}",
        "127.0.0.1",
    )
    # Then the database refuses to change or delete a row of the trail
    for statement in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action="forged"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    assert AuditEvent.objects.get(pk=event.pk).action == "admin.add"
    # And `solidarity audit list --json` prints it, newest first
    audit_record(via="cli", action="cli.test", username="boss")
    assert cli_main(["audit", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in rows] == ["cli.test", "admin.add"]
    assert rows[0]["roles"] == "admin"


def test_user_add_for_an_approver_enrols_a_totp_device(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert cli_main(["user", "add", "lan", "--role", "approver"]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/" in out
    assert TOTPDevice.objects.filter(user__username="lan", confirmed=True).count() == 1
    assert cli_main(["user", "totp", "lan", "--no-qr"]) == 0
    assert TOTPDevice.objects.filter(user__username="lan").count() == 1  # the old one is gone
    assert AuditEvent.objects.filter(action="cli.user.add", target="lan").exists()
