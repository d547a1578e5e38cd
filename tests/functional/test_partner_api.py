"""The partner API: intents with VietQR payloads, confirmed gifts with Idempotency-Key
semantics, scopes, revocation and rate limits; schemathesis finds no 5xx."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from solidarity.apps.donations.models import Donation
from solidarity.apps.partners.models import ApiKey, IdempotencyRecord
from solidarity.apps.partners.services import key_digest, partner_add, partner_revoke
from solidarity.core.vietqr import vietqr_parse
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    campaign = campaign_factory()
    partner, key = partner_add(name="momo", scopes=["intents:write", "gifts:write"])
    return campaign, partner, key


def post(key: str, path: str, body: dict, **headers: str):
    return Client().post(
        f"/api/v1/partner/{path}",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **headers},
    )


GIFT = {
    "campaign": "cuba",
    "id": "tx-1",
    "amount": 50000,
    "occurred_at": "2025-08-25T08:00:00+07:00",
}


def test_intent_returns_reference_and_vietqr(setup):
    _campaign, _, key = setup
    reply = post(key, "intents", {"campaign": "cuba", "amount": 100000, "donor_name": "An"})
    assert reply.status_code == 201
    body = reply.json()
    qr = vietqr_parse(body["vietqr"])
    assert (qr.bin, qr.account, qr.amount) == ("970422", "4001", 100000)
    assert body["reference"] in qr.purpose and qr.purpose.startswith("CUBA ")
    assert post(key, "intents", {"campaign": "nope", "amount": 1}).status_code == 404


def test_an_intent_whose_reference_cannot_fit_the_memo_is_refused_as_on_the_give_page(setup):
    # Given a campaign whose code leaves less room than an intent's reference needs
    _, _, key = setup
    campaign_factory(slug="long", code="HOTROCUBA2025XYZ")
    # When a partner asks for an intent, then it is refused, not given a memo without it
    reply = post(key, "intents", {"campaign": "long", "amount": 100000})
    assert reply.status_code == 400
    assert "no room" in reply.json()["detail"]
    # and the give page refuses the same reference
    qr = Client().get("/c/long/give/qr.svg", {"amount": "100000", "ref": "G123456789"})
    assert qr.status_code == 400


def test_keys_are_hashed_scoped_and_revocable(setup):
    _, partner, key = setup
    assert not ApiKey.objects.filter(digest=key).exists()
    assert ApiKey.objects.filter(digest=key_digest(key)).exists()
    assert post("sk_wrong", "intents", {"campaign": "cuba", "amount": 1}).status_code == 401
    _, intents_only = partner_add(name="bank", scopes=["intents:write"])
    assert post(intents_only, "gifts", GIFT, **{"Idempotency-Key": "k"}).status_code == 403
    partner_revoke(partner=partner)
    assert post(key, "intents", {"campaign": "cuba", "amount": 1}).status_code == 401


def test_idempotency_key(setup):
    _, partner, key = setup
    first = post(key, "gifts", GIFT, **{"Idempotency-Key": "k1"})
    assert first.status_code == 201
    # same key, same body: the stored result again
    again = post(key, "gifts", GIFT, **{"Idempotency-Key": "k1"})
    assert (again.status_code, again.json()) == (201, first.json())
    # same key, other body: 422
    assert post(key, "gifts", {**GIFT, "amount": 1}, **{"Idempotency-Key": "k1"}).status_code == 422
    # other key, same transaction id: booked once, reported as not created
    other = post(key, "gifts", GIFT, **{"Idempotency-Key": "k2"})
    assert other.status_code == 200 and other.json()["created"] is False
    # still running: 409
    IdempotencyRecord.objects.create(partner=partner, key="k3", request_hash="x" * 64)
    from solidarity.apps.partners.services import request_hash

    IdempotencyRecord.objects.filter(key="k3").update(request_hash=request_hash(_dumped(GIFT)))
    assert post(key, "gifts", GIFT, **{"Idempotency-Key": "k3"}).status_code == 409
    assert Donation.objects.count() == 1
    assert Donation.objects.get().source == "partner:momo"


def _dumped(body: dict) -> dict:
    from solidarity.apps.partners.api import GiftIn

    return GiftIn(**body).model_dump(mode="json")


def test_rate_limit(setup):
    _, partner, key = setup
    partner.rate_per_minute = 2
    partner.save()
    codes = [
        post(key, "intents", {"campaign": "cuba", "amount": 1000}).status_code for _ in range(3)
    ]
    assert codes[:2] == [201, 201]
    assert codes[2] == 429
    reply = post(key, "intents", {"campaign": "cuba", "amount": 1000})
    assert 1 <= int(reply["Retry-After"]) <= 60


def test_openapi_is_served():
    doc = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/partner/gifts" in doc["paths"]


def test_schemathesis_no_server_errors(setup):
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    from solidarity.web.wsgi import application

    _, _, key = setup
    # As Django's test client does: keep the test's connection (and transaction) open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    ops = [r.ok() for r in schema.get_all_operations() if "/partner/" in r.ok().path]
    assert len(ops) == 2
    calls: list[int] = []
    for op in ops:

        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=op.as_strategy())
        def run(case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
            response = case.call_and_validate(checks=[not_a_server_error])
            calls.append(response.status_code)

        try:
            run()
        except BaseException:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            raise
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    assert len(calls) >= 20
    assert all(code < 500 for code in calls)


def test_a_key_whose_request_died_is_released_after_the_stated_time(setup):
    from datetime import timedelta

    from django.db.models import F

    from solidarity.apps.partners.services import (
        IDEMPOTENCY_RUNNING_SECONDS,
        idempotency_begin,
        request_hash,
    )

    _, partner, key = setup
    digest = request_hash(_dumped(GIFT))
    # Given a request that took the key and was cut off before it finished (no result)
    record = IdempotencyRecord.objects.create(partner=partner, key="k9", request_hash=digest)
    # Then within IDEMPOTENCY_RUNNING_SECONDS it counts as still running
    assert post(key, "gifts", GIFT, **{"Idempotency-Key": "k9"}).status_code == 409
    # When that time has passed since it started
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=F("created_at") - timedelta(seconds=IDEMPOTENCY_RUNNING_SECONDS + 1)
    )
    # Then another body under the key is still refused, and the same body runs again
    assert post(key, "gifts", {**GIFT, "amount": 1}, **{"Idempotency-Key": "k9"}).status_code == 422
    first = post(key, "gifts", GIFT, **{"Idempotency-Key": "k9"})
    assert first.status_code == 201
    assert post(key, "gifts", GIFT, **{"Idempotency-Key": "k9"}).json() == first.json()
    assert Donation.objects.count() == 1
    # And of two retries arriving together after the time, one takes the key over
    stale = IdempotencyRecord.objects.create(partner=partner, key="k10", request_hash=digest)
    later = stale.created_at + timedelta(seconds=IDEMPOTENCY_RUNNING_SECONDS + 1)
    taken = [
        idempotency_begin(partner=partner, key="k10", digest=digest, now=later)[1] for _ in range(2)
    ]
    assert taken == [True, False]
