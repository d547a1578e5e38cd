"""Every role on every URL (GET and POST) and on every admin action, against one table.

The URLs are walked from the URL configuration and the admin's registry, so a new view,
admin page or action without a rule in this table fails the suite. Rules:

- PUBLIC: the same answer for every role and for nobody (the session changes nothing), never
  a login redirect, a 403 or a server error: public pages, log files, webhooks and the API
  (whose own authentication is by key, not by session).
- PROBE: as PUBLIC, but the answer may be 503 (a readiness probe reports unready workers).
- ANY: the admin's login and logout pages and the like: any answer but a server error.
- Roles(get, post): the roles whose GET (and HEAD) and whose POST pass the permission check;
  anyone else gets 403, and nobody (no session) is sent to the login page.

Admin model pages follow the ModelAdmin's rule in ADMIN_MODELS (view, add, change, delete);
each action's roles are in ADMIN_ACTIONS (delete_selected follows the model's delete rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.services import audit_record, user_add
from solidarity.apps.donations.services import donation_record
from solidarity.apps.feeds.models import Conflict, Notification
from solidarity.apps.feeds.services import feed_add
from solidarity.apps.partners.services import partner_add
from tests.factories import campaign_factory, gift, office_login
from tests.integration.tranche_helpers import propose

pytestmark = pytest.mark.django_db

ANON, ADMIN, ACCOUNTANT, APPROVER, AUDITOR = (
    "anonymous",
    "admin",
    "accountant",
    "approver",
    "auditor",
)
STAFF = frozenset({ADMIN, ACCOUNTANT, APPROVER, AUDITOR})
EVERYONE = (ANON, *sorted(STAFF))
NOBODY: frozenset[str] = frozenset()
ONLY_ADMIN = frozenset({ADMIN})
PASSWORD = "a-long-passphrase-2025"


@dataclass(frozen=True)
class Roles:
    get: frozenset[str]
    post: frozenset[str]


PUBLIC = "public"
ANY = "any"
PROBE = "probe"  # a load balancer's readiness probe: the same answer for all, 503 allowed

READ_OFFICE = frozenset({AUDITOR, ACCOUNTANT, ADMIN})
BOOKS = frozenset({ACCOUNTANT, ADMIN})
TRANCHES = frozenset({ACCOUNTANT, APPROVER, ADMIN})

# Every non-admin URL pattern: its example address and its rule.
URLS: dict[str, tuple[str, Any]] = {
    "api/v1/openapi.json": ("/api/v1/openapi.json", PUBLIC),
    "api/v1/docs": ("/api/v1/docs", PUBLIC),
    "api/v1/campaigns/<slug>/totals": ("/api/v1/campaigns/{slug}/totals", PUBLIC),
    "api/v1/campaigns/<slug>/donations": ("/api/v1/campaigns/{slug}/donations", PUBLIC),
    "api/v1/campaigns/<slug>/log": ("/api/v1/campaigns/{slug}/log", PUBLIC),
    "api/v1/campaigns/<slug>/proof/inclusion": ("/api/v1/campaigns/{slug}/proof/inclusion", PUBLIC),
    "api/v1/campaigns/<slug>/proof/consistency": (
        "/api/v1/campaigns/{slug}/proof/consistency",
        PUBLIC,
    ),
    "api/v1/partner/intents": ("/api/v1/partner/intents", PUBLIC),
    "api/v1/partner/gifts": ("/api/v1/partner/gifts", PUBLIC),
    "api/v1/": ("/api/v1/", PUBLIC),
    r"^c/(?P<slug>[-a-zA-Z0-9_]+)/tranches/evidence/(?P<sha256>[0-9a-f]{64})$": (
        "/c/{slug}/tranches/evidence/" + "0" * 64,
        PUBLIC,
    ),
    r"^c/(?P<slug>[-a-zA-Z0-9_]+)/report\.(?P<fmt>pdf|csv|xlsx)$": ("/c/{slug}/report.csv", PUBLIC),
    "office/tranches/": ("/office/tranches/", Roles(READ_OFFICE | TRANCHES, TRANCHES)),
    "office/tranches/new/": ("/office/tranches/new/", Roles(TRANCHES, TRANCHES)),
    "office/tranches/<int:pk>/": (
        "/office/tranches/{tranche}/",
        Roles(READ_OFFICE | TRANCHES, TRANCHES),
    ),
    "office/tranches/<int:pk>/<str:action>/": (
        "/office/tranches/{tranche}/evidence/",
        Roles(TRANCHES, TRANCHES),
    ),
    r"^office/tranches/(?P<pk>[0-9]+)/evidence/(?P<sha256>[0-9a-f]{64})$": (
        "/office/tranches/{tranche}/evidence/" + "0" * 64,
        Roles(READ_OFFICE | TRANCHES, NOBODY),
    ),
    "log/<slug:slug>/vkey": ("/log/{slug}/vkey", PUBLIC),
    "log/<slug:slug>/<path:path>": ("/log/{slug}/checkpoint", PUBLIC),
    "c/<slug:slug>/receipt/<str:ref>.json": ("/c/{slug}/receipt/{ref}.json", PUBLIC),
    "r/<str:ref>": ("/r/{ref}", PUBLIC),
    "office/imports/": ("/office/imports/", Roles(READ_OFFICE, BOOKS)),
    "office/review/": ("/office/review/", Roles(READ_OFFICE, BOOKS)),
    "office/review/<int:pk>/<str:action>/": ("/office/review/999999/assign/", Roles(BOOKS, BOOKS)),
    "office/review/returns/<int:pk>/post/": (
        "/office/review/returns/999999/post/",
        Roles(BOOKS, BOOKS),
    ),
    "hooks/<slug:name>": ("/hooks/{feed}", PUBLIC),
    "office/notifications/": ("/office/notifications/", Roles(READ_OFFICE, BOOKS)),
    "office/notifications/<int:pk>/replay/": (
        "/office/notifications/{notification}/replay/",
        Roles(BOOKS, BOOKS),
    ),
    "office/": ("/office/", Roles(STAFF, NOBODY)),
    "office/campaigns/": ("/office/campaigns/", Roles(STAFF, ONLY_ADMIN)),
    "office/campaigns/new/": ("/office/campaigns/new/", Roles(ONLY_ADMIN, ONLY_ADMIN)),
    "office/campaigns/close-due/": (
        "/office/campaigns/close-due/",
        Roles(ONLY_ADMIN, ONLY_ADMIN),
    ),
    "office/campaigns/<slug:slug>/": ("/office/campaigns/{slug}/", Roles(STAFF, ONLY_ADMIN)),
    "office/campaigns/<slug:slug>/edit/": (
        "/office/campaigns/{slug}/edit/",
        Roles(ONLY_ADMIN, ONLY_ADMIN),
    ),
    "office/campaigns/<slug:slug>/witnesses/": (
        "/office/campaigns/{slug}/witnesses/",
        Roles(STAFF, ONLY_ADMIN),
    ),
    "office/campaigns/<slug:slug>/witnesses/<str:action>/": (
        "/office/campaigns/{slug}/witnesses/quorum/",
        Roles(ONLY_ADMIN, ONLY_ADMIN),
    ),
    "office/campaigns/<slug:slug>/<str:action>/": (
        "/office/campaigns/{slug}/open/",
        Roles(ONLY_ADMIN, ONLY_ADMIN),
    ),
    "i18n/setlang/": ("/i18n/setlang/", PUBLIC),
    "healthz": ("/healthz", PUBLIC),
    "media/campaigns/<path:path>": ("/media/campaigns/2026/01/none.png", PUBLIC),
    "c/<slug:slug>/updates.atom": ("/c/{slug}/updates.atom", PUBLIC),
    "office/notifications/conflicts/<int:pk>/resolve/": (
        "/office/notifications/conflicts/999999/resolve/",
        Roles(BOOKS, BOOKS),
    ),
    "office/goods/": ("/office/goods/", Roles(READ_OFFICE | TRANCHES, BOOKS)),
    "office/goods/import/": ("/office/goods/import/", Roles(BOOKS, BOOKS)),
    r"^office/goods/(?P<pk>[0-9]+)/evidence/(?P<sha256>[0-9a-f]{64})$": (
        "/office/goods/999999/evidence/" + "0" * 64,
        Roles(READ_OFFICE | TRANCHES, NOBODY),
    ),
    "readyz": ("/readyz", PROBE),
    "metrics": ("/metrics", PUBLIC),  # its own bearer token, never a session
    "<lang>/privacy/": ("/en/privacy/", PUBLIC),
    "c/<slug:slug>/give/qr.svg": ("/c/{slug}/give/qr.svg", PUBLIC),
    "c/<slug:slug>/give/qr.png": ("/c/{slug}/give/qr.png", PUBLIC),
    "c/<slug:slug>/statement.csv": ("/c/{slug}/statement.csv", PUBLIC),
    "c/<slug:slug>/statement.json": ("/c/{slug}/statement.json", PUBLIC),
    "<lang>/": ("/en/", PUBLIC),
    "<lang>/c/<slug:slug>/": ("/en/c/{slug}/", PUBLIC),
    "<lang>/c/<slug:slug>/give/": ("/en/c/{slug}/give/", PUBLIC),
    "<lang>/c/<slug:slug>/statement": ("/en/c/{slug}/statement", PUBLIC),
    "<lang>/c/<slug:slug>/verify/": ("/en/c/{slug}/verify/", PUBLIC),
    "<lang>/c/<slug:slug>/widget": ("/en/c/{slug}/widget", PUBLIC),
    "<lang>/c/<slug:slug>/card.png": ("/en/c/{slug}/card.png", PUBLIC),
    "<lang>/verifier/download": ("/en/verifier/download", PUBLIC),
    "favicon.ico": ("/favicon.ico", PUBLIC),
    r"<lang>/^c/(?P<slug>[-a-zA-Z0-9_]+)/receipt/(?P<ref>[^/.]+)/$": (
        "/en/c/{slug}/receipt/{ref}/",
        PUBLIC,
    ),
    "<lang>/c/<slug:slug>/tranches": ("/en/c/{slug}/tranches", PUBLIC),
    # The admin site's own pages (its model pages follow ADMIN_MODELS)
    "admin/": ("/admin/", Roles(STAFF, STAFF)),
    "admin/login/": ("/admin/login/", ANY),
    "admin/password_change/": ("/admin/password_change/", Roles(STAFF, STAFF)),
    "admin/password_change/done/": ("/admin/password_change/done/", Roles(STAFF, STAFF)),
    "admin/autocomplete/": ("/admin/autocomplete/", ANY),  # checks the target model's rule
    "admin/jsi18n/": ("/admin/jsi18n/", Roles(STAFF, STAFF)),
    "admin/r/<path:content_type_id>/<path:object_id>/": ("/admin/r/1/1/", ANY),
    "admin/(?P<url>.*)$": ("/admin/no-such-page/", ANY),
    "admin/auth/user/<id>/password/": (
        "/admin/auth/user/{user}/password/",
        Roles(ONLY_ADMIN, ONLY_ADMIN),
    ),
    "admin/otp_totp/totpdevice/<int:pk>/config/": (
        "/admin/otp_totp/totpdevice/{device}/config/",
        Roles(NOBODY, NOBODY),
    ),
    "admin/otp_totp/totpdevice/<int:pk>/qrcode/": (
        "/admin/otp_totp/totpdevice/{device}/qrcode/",
        Roles(NOBODY, NOBODY),
    ),
    "admin/logout/": ("/admin/logout/", ANY),  # last: it ends the session
}


@dataclass(frozen=True)
class Model:
    view: frozenset[str]
    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY


ADMIN_MODELS: dict[str, Model] = {
    # Only admins manage people, roles, second factors and lockouts.
    "auth.user": Model(ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN),
    "auth.group": Model(ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN),
    "otp_totp.totpdevice": Model(ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN, ONLY_ADMIN),
    "axes.accessattempt": Model(ONLY_ADMIN, NOBODY, ONLY_ADMIN, ONLY_ADMIN),
    "axes.accesslog": Model(ONLY_ADMIN, NOBODY, ONLY_ADMIN, ONLY_ADMIN),
    "axes.accessfailurelog": Model(ONLY_ADMIN, NOBODY, ONLY_ADMIN, ONLY_ADMIN),
    # Everyone reads the trail; nobody writes it by hand.
    "accounts.auditevent": Model(STAFF),
    # Campaigns and feeds: admins configure; others read. Nothing booked is deleted.
    "campaigns.campaign": Model(STAFF, ONLY_ADMIN, ONLY_ADMIN),
    "feeds.feed": Model(STAFF, ONLY_ADMIN, ONLY_ADMIN),
    "partners.partner": Model(STAFF, ONLY_ADMIN, ONLY_ADMIN),
    # The books: read-only for everyone.
    "feeds.notification": Model(STAFF),
    "feeds.conflict": Model(STAFF),
    "donations.donation": Model(STAFF),
    "ledger.journaltransaction": Model(STAFF),
    "ledger.ledgeraccount": Model(STAFF),
}

ADMIN_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("partners.partner", "create_key"): ONLY_ADMIN,
    ("partners.partner", "revoke"): ONLY_ADMIN,
}

# The admin pages of each model, as (pattern suffix, example suffix, permission).
MODEL_PAGES = (
    ("", "", "view"),
    ("add/", "add/", "add"),
    ("<path:object_id>/history/", "{pk}/history/", "view"),
    ("<path:object_id>/delete/", "{pk}/delete/", "delete"),
    ("<path:object_id>/change/", "{pk}/change/", "change"),
    ("<path:object_id>/", "{pk}/", "redirect"),
)


def url_patterns() -> list[str]:
    def walk(resolver: URLResolver, prefix: str) -> Any:
        for p in resolver.url_patterns:
            part = "<lang>/" if isinstance(p.pattern, LocalePrefixPattern) else str(p.pattern)
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + part)
            else:
                yield prefix + part

    return list(walk(get_resolver(), ""))


def admin_page_patterns() -> dict[str, tuple[str, str, str]]:
    """Admin model page pattern -> (model label, example suffix, permission)."""
    pages = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for suffix, example, perm in MODEL_PAGES:
            pages[base + suffix] = (label, base + example, perm)
    return pages


def app_list_pattern() -> str:
    labels = "|".join(dict.fromkeys(m._meta.app_label for m in admin.site._registry))
    return rf"admin/^(?P<app_label>{labels})/$"


def test_every_url_and_admin_model_has_a_rule():
    # Given the URL configuration and the admin registry
    pages = admin_page_patterns()
    known = set(URLS) | set(pages) | {app_list_pattern()}
    # Then every pattern has a rule, and every rule a pattern
    assert sorted(set(url_patterns()) - known) == []
    assert sorted(set(URLS) - set(url_patterns())) == []
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS)
    actions = {
        (m._meta.label_lower, name)
        for m, ma in admin.site._registry.items()
        for _, name, _ in ma._get_base_actions()
        if name != "delete_selected"
    }
    assert actions == set(ADMIN_ACTIONS)


# --- the data every page needs, and a session per role ---------------------------------------


@pytest.fixture
def world(settings, tmp_path) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = campaign_factory(goal=10**12)
    donation = donation_record(campaign=campaign, gift=gift(campaign, 1_000_000)).donation
    feed, _ = feed_add(name="vcb", kind="sepay")
    notification = Notification.objects.create(
        feed=feed,
        provider_id="1",
        status="failed",
        amount_minor=1,
        body="{}",
        headers={},
        received_at=timezone.now(),
    )
    Conflict.objects.create(
        source=f"feed:{feed.name}",
        provider_id="1",
        differs="amount",
        stored={"amount": 1},
        received={"amount": 2},
        version="v2",
        notification=notification,
        received_at=timezone.now(),
    )
    partner_add(name="bank-app", scopes=["gifts:write"])
    clients = {ANON: Client()}
    for role in sorted(STAFF):
        user_add(username=role, role=role, password=PASSWORD)
        clients[role] = Client()
        assert office_login(clients[role], role, PASSWORD)
    Client().post("/admin/login/", {"username": "nobody-at-all", "password": "guess"})  # axes rows
    audit_record(via="cli", action="cli.test", username="admin")
    tranche = propose(campaign, User.objects.get(username=ACCOUNTANT), 100_000)
    return {
        "clients": clients,
        "slug": campaign.slug,
        "ref": donation.public_ref,
        "feed": feed.name,
        "notification": notification.pk,
        "tranche": tranche.pk,
        "user": User.objects.get(username=AUDITOR).pk,
        "device": TOTPDevice.objects.order_by("pk").first().pk,
    }


def outcome(response: Any) -> str:
    status = response.status_code
    assert status < 500, response.content[:500]
    if status == 302 and response["Location"].startswith("/admin/login/"):
        return "login"
    if status == 403:
        return "denied"
    return "passed"


def expected(rule: Roles, method: str, role: str) -> str:
    allowed = rule.get if method == "GET" else rule.post
    if role in allowed:
        return "passed"
    return "login" if role == ANON else "denied"


def check(world: dict[str, Any], path: str, rule: Any, failures: list[str]) -> None:
    for method in ("GET", "POST"):
        answers = {}
        for role in EVERYONE:
            client = world["clients"][role]
            response = client.get(path) if method == "GET" else client.post(path, {})
            if rule == PROBE and response.status_code == 503:
                answers[role] = (503, "passed")
                continue
            answers[role] = (response.status_code, outcome(response))
        if rule == ANY:
            continue
        if rule in (PUBLIC, PROBE):
            statuses = {status for status, _ in answers.values()}
            verdicts = {verdict for _, verdict in answers.values()}
            if len(statuses) != 1 or verdicts != {"passed"}:
                failures.append(f"{method} {path}: public, but {answers}")
            continue
        for role, (status, got) in answers.items():
            want = expected(rule, method, role)
            if got != want:
                failures.append(f"{method} {path} as {role}: {got} ({status}), expected {want}")


def test_every_role_on_every_url(world):
    failures: list[str] = []
    ids = {k: v for k, v in world.items() if k != "clients"}
    # Given the site's pages outside the admin's model pages
    for path_template, rule in URLS.values():
        check(world, path_template.format(**ids), rule, failures)
    assert failures == []


def test_every_role_on_every_admin_page(world):
    failures: list[str] = []
    app_visible: dict[str, set[str]] = {}
    for model, _ in admin.site._registry.items():
        label = model._meta.label_lower
        rule = ADMIN_MODELS[label]
        readers = rule.view | rule.change
        app_visible.setdefault(model._meta.app_label, set()).update(readers | rule.add)
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"the world has no {label} to open"
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pages = {
            "": Roles(readers, readers),
            "add/": Roles(rule.add, rule.add),
            f"{obj.pk}/history/": Roles(readers, readers),
            f"{obj.pk}/change/": Roles(readers, rule.change),
            f"{obj.pk}/": Roles(STAFF, STAFF),  # a redirect to the change page
        }
        for suffix, roles in pages.items():
            check(world, base + suffix, roles, failures)
        # Deleting: the confirmation page, then a POST, which for an allowed role really
        # deletes, so that role deletes an object made for the purpose.
        for role in EVERYONE:
            client = world["clients"][role]
            victim = sacrifice(label) if role in rule.delete else obj
            url = f"{base}{victim.pk}/delete/"
            got = outcome(client.get(url))
            if got != expected(Roles(rule.delete, rule.delete), "GET", role):
                failures.append(f"GET {url} as {role}: {got}")
            got = outcome(client.post(url, {"post": "yes"}))
            still_there = model._default_manager.filter(pk=victim.pk).exists()
            if role in rule.delete:
                if got != "passed" or still_there:
                    failures.append(f"POST {url} as {role}: {got}, not deleted")
            elif got != expected(Roles(NOBODY, NOBODY), "POST", role) or not still_there:
                failures.append(f"POST {url} as {role}: {got}, deleted={not still_there}")
    # The app index pages show an app to whoever sees one of its models (404 otherwise)
    for app_label, roles in app_visible.items():
        for role in EVERYONE:
            response = world["clients"][role].get(f"/admin/{app_label}/")
            got = outcome(response)
            want = "passed" if role in roles else ("login" if role == ANON else "not found")
            if response.status_code == 404:
                got = "not found"
            if got != want:
                failures.append(f"GET /admin/{app_label}/ as {role}: {got}, expected {want}")
    assert failures == []


def sacrifice(label: str) -> Any:
    """A fresh object an allowed role may delete without losing the ones other pages open."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    now = timezone.now()
    user = User.objects.create_user(username=f"victim-{User.objects.count()}", password=PASSWORD)
    made = {
        "auth.user": lambda: user,
        "auth.group": lambda: Group.objects.create(name=f"victims-{user.pk}"),
        "otp_totp.totpdevice": lambda: TOTPDevice.objects.create(user=user, name="x"),
        "axes.accessattempt": lambda: AccessAttempt.objects.create(
            username=user.username,
            ip_address="192.0.2.1",
            user_agent="t",
            attempt_time=now,
            failures_since_start=1,
        ),
        "axes.accesslog": lambda: AccessLog.objects.create(
            username=user.username, ip_address="192.0.2.1", user_agent="t", attempt_time=now
        ),
        "axes.accessfailurelog": lambda: AccessFailureLog.objects.create(
            username=user.username, ip_address="192.0.2.1", user_agent="t", attempt_time=now
        ),
    }
    return made[label]()


def test_every_role_on_every_admin_action(world):
    failures: list[str] = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        obj = model._default_manager.order_by("pk").first()
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for _, name, _ in model_admin._get_base_actions():
            if model_admin.actions is None:  # the admin offers no action at all
                allowed = NOBODY
            elif name == "delete_selected":
                allowed = ADMIN_MODELS[label].delete
            else:
                allowed = ADMIN_ACTIONS[(label, name)]
            for role in EVERYONE:
                # When the role posts the action on the list
                response = world["clients"][role].post(
                    base, {"action": name, "_selected_action": [obj.pk]}, follow=True
                )
                assert response.status_code < 500
                # Then it runs exactly for the roles the table names: delete_selected asks
                # for confirmation, every other action is recorded in the audit trail
                if name == "delete_selected":
                    names = {t.name for t in response.templates}
                    ran = "admin/delete_selected_confirmation.html" in names
                else:
                    ran = AuditEvent.objects.filter(
                        action=f"admin.action.{name}", username=role
                    ).exists()
                if ran != (role in allowed):
                    failures.append(f"{label} {name} as {role}: ran={ran}")
    assert failures == []
