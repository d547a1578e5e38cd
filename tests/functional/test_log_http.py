"""The public log over HTTP: files and their caching, the key, proofs from the API, receipts."""

from __future__ import annotations

import base64

import pytest

from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.transparency.sequencer import log_sequence_once
from solidarity.core.tlog.checkpoint import checkpoint_open
from solidarity.core.tlog.hashing import leaf_hash
from solidarity.core.tlog.note import verifier_parse
from solidarity.core.tlog.proof import consistency_verify, inclusion_verify
from solidarity.core.tlog.receipt import receipt_verify
from solidarity.core.tlog.tiles import bundle_decode
from tests.factories import campaign_factory, gift

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]


@pytest.fixture
def logged(client):
    """A campaign of 300 gifts, sequenced in two steps; its refs and verifier key."""
    campaign = campaign_factory(slug="web")
    account = campaign.accounts.first()
    gifts = [gift(campaign, 10_000 + i, account=account) for i in range(300)]
    refs = [r.public_ref for r in donations_record_many(campaign=campaign, gifts=gifts)]
    log_sequence_once(batch=100, durable=False)
    more = donations_record_many(campaign=campaign, gifts=[gift(campaign, 777)])
    vkey = client.get("/log/web/vkey").content.decode().strip()
    return campaign, refs, more[0].public_ref, vkey


def test_files_are_served_with_their_types_and_caching(client, logged):
    _, _, _, vkey = logged
    r = client.get("/log/web/checkpoint")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    assert r["Cache-Control"] == "public, max-age=2"  # a CDN asks again within seconds
    cp = checkpoint_open(r.content, verifier_parse(vkey))
    assert cp.size == 301
    assert cp.origin == "solidarity.localhost/web"
    for path in ("tile/0/000", "tile/0/001.p/45", "tile/1/000.p/1", "tile/entries/001.p/45"):
        t = client.get(f"/log/web/{path}")
        assert t.status_code == 200, path
        assert t["Content-Type"] == "application/octet-stream"
        assert t["Cache-Control"] == "public, max-age=31536000, immutable"
    bundle = bundle_decode(client.get("/log/web/tile/entries/000").content, 256)
    assert b'"kind":"account"' in bundle[0]


NOT_LOG_FILES = [
    "tile/0/999",
    "tile/0/000.p/0",
    "tile/0/0",
    "tile/0/../../keys/web.key",
    "..%2F..%2Fkeys%2Fweb.key",
    "%2e%2e/%2e%2e/keys/web.key",
    "checkpoint.tmp-1-1",
    "tile/entries/000/../../checkpoint",
    "",
]


def test_anything_but_a_log_file_is_404(client, logged):
    for path in NOT_LOG_FILES:
        assert client.get(f"/log/web/{path}").status_code == 404, path


def test_vkey_and_unknown_logs(client, logged):
    _, _, _, vkey = logged
    r = client.get("/log/web/vkey")
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    assert verifier_parse(vkey).name == "solidarity.localhost/web"
    assert client.get("/log/nope/vkey").status_code == 404
    assert client.get("/log/nope/checkpoint").status_code == 404


def test_api_proofs_verify_against_the_checkpoint(client, logged):
    _, _, _, vkey = logged
    cp = checkpoint_open(client.get("/log/web/checkpoint").content, verifier_parse(vkey))
    entries = bundle_decode(client.get("/log/web/tile/entries/000").content)
    r = client.get("/api/v1/campaigns/web/proof/inclusion", {"index": 42})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["size"] == cp.size
    assert base64.b64decode(body["root"]) == cp.root
    inclusion_verify(
        leaf_hash(entries[42]), 42, cp.size, [base64.b64decode(p) for p in body["proof"]], cp.root
    )
    r = client.get("/api/v1/campaigns/web/proof/consistency", {"from": 101, "to": cp.size})
    assert r.status_code == 200, r.content
    c = r.json()
    consistency_verify(
        101,
        cp.size,
        base64.b64decode(c["from_root"]),
        cp.root,
        [base64.b64decode(p) for p in c["proof"]],
    )
    info = client.get("/api/v1/campaigns/web/log").json()
    assert (info["size"], info["vkey"]) == (cp.size, vkey)


PROOF_ERRORS = [
    ("inclusion", {"index": 301}, "index must be between 0 and 300"),
    ("inclusion", {"index": -1}, "index"),
    ("inclusion", {"index": 0, "size": 302}, "published size 301"),
    ("inclusion", {"index": 0, "size": 0}, "size"),
    ("consistency", {"from": 0, "to": 10}, "from"),
    ("consistency", {"from": 11, "to": 10}, "from"),
    ("consistency", {"from": 1, "to": 400}, "published size 301"),
]


def test_api_proof_errors_are_clear(client, logged):
    for url, params, words in PROOF_ERRORS:
        r = client.get(f"/api/v1/campaigns/web/proof/{url}", params)
        assert r.status_code == 400, (url, params)
        assert words in r.json()["detail"], (url, params)


def test_api_unknown_campaign_is_404(client, logged):
    r = client.get("/api/v1/campaigns/nope/proof/inclusion", {"index": 0})
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]


def test_receipt_page_json_and_short_link(client, logged):
    _, refs, _, vkey = logged
    ref = refs[123]
    # The short link leads to the page in the visitor's language
    r = client.get(f"/r/{ref}")
    assert r.status_code == 302
    assert r["Location"].endswith(f"/c/web/receipt/{ref}/")
    page = client.get(r["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert ref in html
    assert 'data-status="logged"' in html
    assert "<svg" in html
    assert f"/c/web/receipt/{ref}.json" in html
    # The JSON file verifies offline with the key alone
    doc = client.get(f"/c/web/receipt/{ref}.json").json()
    assert doc["format"] == "solidarity-receipt/1"
    assert (doc["origin"], doc["vkey"], doc["ref"], doc["campaign"]) == (
        "solidarity.localhost/web",
        vkey,
        ref,
        "web",
    )
    assert receipt_verify(doc, vkey)["ref"] == ref


def test_a_receipt_not_yet_sequenced_says_so(client, logged):
    _, _, pending, _ = logged
    page = client.get(f"/vi/c/web/receipt/{pending}/")
    assert page.status_code == 200
    assert 'data-status="pending"' in page.content.decode()
    r = client.get(f"/c/web/receipt/{pending}.json")
    assert r.status_code == 202
    assert r.json()["status"] == "pending"
    log_sequence_once(durable=False)
    assert client.get(f"/c/web/receipt/{pending}.json").status_code == 200


def test_unknown_receipts_are_404(client, logged):
    assert client.get("/r/NOSUCHREF").status_code == 404
    assert client.get("/vi/c/web/receipt/NOSUCHREF/").status_code == 404
    r = client.get("/c/web/receipt/NOSUCHREF.json")
    assert r.status_code == 404
    assert "NOSUCHREF" in r.json()["detail"]
