"""Nothing personal in any published byte; a donor's choice holds on every channel; erasure.

Gifts arrive by statement import and through the partner API with memos that hold names
and numbers in the shapes people type. After the log is sequenced, every byte the site
publishes (pages in four languages, JSON and CSV exports, search results, receipts, every
log tile and entry bundle) is fetched and searched for those names and digit runs.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from django.test import Client

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation, DonationPrivate
from solidarity.apps.donations.search import search_index_catch_up
from solidarity.apps.imports.services import statement_import
from solidarity.apps.partners.services import partner_add
from solidarity.apps.transparency.models import LogEntry
from solidarity.apps.transparency.sequencer import log_sequence_once
from solidarity.cli import main as cli_main
from solidarity.core.matching import text_fold
from solidarity.core.tlog.entry import entry_decode
from tests.factories import campaign_factory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_home")]

VCB = "970436"
LANGS = ("vi", "en", "es", "pt-br")

# Numbers as typed; none of their digit runs may be published (the last three or four
# digits of each may).
NUMBERS = [
    "0912/345/678",
    "(+84) 913 345 678",
    "+84 (0) 914 345 678",
    "1903 6655 1230 19",
    "0071.0008.12345",
    "123-456-789-012",
    "4111-1111-1111-1111",
    "0987.654.321",
    "84-903-111-222",
    "sdt 0916 xx 345 678",
]
# Donors: (name in the memo, privacy reached, words of the name never to be published).
MASKED_STATEMENT = "PHAM QUYNH XUYEN"
ANON_INTENT = "KHUC KHUE THOA"
ANON_GIVE_PAGE = "DOAN DIEP HUYEN"
PARTNER_MASKED = "Lương Nguyệt Khiết"
PARTNER_ANON = "Hứa Khiêm Xoan"
HIDDEN_WORDS = {
    # masked: the family name is published, the other words never
    "quynh",
    "xuyen",
    "nguyet",
    "khiet",
    # anonymous: nothing of the name
    "khuc",
    "khue",
    "thoa",
    "doan",
    "diep",
    "huyen",
    "hua",
    "khiem",
    "xoan",
}


def _digit_runs(typed: str) -> list[str]:
    """The strings that would give a number away: as typed, and every way of writing its
    digits but the last four."""
    digits = "".join(c for c in typed if c.isdigit())
    runs = [digits, digits[:-4]]
    if len(digits) > 9 and digits.startswith("84"):
        runs.append(digits[2:-4])
    return [typed.removeprefix("sdt "), *runs]


def _statement(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Số tài khoản: 0011001932418\n")
        w = csv.writer(f)
        w.writerow(["Ngày GD", "Số CT", "Ghi nợ", "Ghi có", "Nội dung"])
        for date, ref, memo in rows:
            w.writerow([date, ref, "", "100.000", memo])
    return path


def _partner_gift(key: str, **body: object) -> None:
    reply = Client().post(
        "/api/v1/partner/gifts",
        json.dumps(
            {"campaign": "cuba", "amount": 50_000, "occurred_at": "2025-08-25T09:00:00+07:00"}
            | body
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(body["id"])},
    )
    assert reply.status_code == 201, reply.content


@pytest.fixture
def booked(client, tmp_path):
    """Gifts on two channels with personal memos, the log sequenced."""
    campaign = campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    _, key = partner_add(name="momo", scopes=["intents:write", "gifts:write"])
    # A partner intent with anonymity: its reference travels in a bank transfer's memo
    intent = (
        Client()
        .post(
            "/api/v1/partner/intents",
            json.dumps({"campaign": "cuba", "amount": 100_000, "privacy": "anonymous"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        .json()
    )
    # The give page with anonymity: its memo carries a privacy reference
    page = client.get("/en/c/cuba/give/?privacy=anonymous&amount=100000").content.decode()
    (give_memo,) = set(re.findall(r"<code>(CUBA P[0-9A-Z]{9})</code>", page))
    n = iter(range(100))
    rows = []
    for i, number in enumerate(NUMBERS):
        rows += [
            (f"0{1 + i % 9}/09/2024", f"FT2425{next(n):010d}", memo)
            for memo in (
                f"{MASKED_STATEMENT} chuyen tien ung ho CUBA {number} Quynh Xuyen",
                f"{ANON_INTENT} chuyen tien {intent['memo']} {number} khuê thoa",
                f"{ANON_GIVE_PAGE} chuyen tien {give_memo} {number} DiepHuyen",
            )
        ]
    report = statement_import(path=_statement(tmp_path / "s.csv", rows))
    assert report.counts.booked == len(rows)
    search_index_catch_up()  # as the indexer under `serve` does within seconds
    for i, number in enumerate(NUMBERS):
        _partner_gift(
            key,
            id=f"m{i}",
            donor_name=PARTNER_MASKED,
            memo=f"{PARTNER_MASKED} ung ho, the {number}, nguyet khiet",
        )
        _partner_gift(
            key,
            id=f"a{i}",
            donor_name=PARTNER_ANON,
            privacy="anonymous",
            memo=f"{PARTNER_ANON} ung ho {number}",
        )
    log_sequence_once(batch=1000, durable=False)
    return campaign, intent, give_memo


def _published(client, log_dir: Path) -> dict[str, bytes]:
    """Every published byte, by address."""
    refs = list(Donation.objects.values_list("public_ref", flat=True))
    urls = [
        "/api/v1/campaigns/cuba/totals",
        "/c/cuba/statement.csv",
        "/c/cuba/statement.json",
        "/api/v1/campaigns/cuba/log",
    ]
    for lang in LANGS:
        urls += [f"/{lang}/", f"/{lang}/c/cuba/", f"/{lang}/privacy/", f"/{lang}/c/cuba/give/"]
        urls += [f"/{lang}/c/cuba/statement?sort={s}" for s in ("-time", "amount")]
    for word in [*HIDDEN_WORDS, "pham", "luong", "ung ho", "cuba", "0912", "345 678", "4111"]:
        urls += [f"/api/v1/campaigns/cuba/donations?q={word}", f"/en/c/cuba/statement?q={word}"]
    urls += [f"/en/c/cuba/receipt/{ref}/" for ref in refs]
    urls += [f"/c/cuba/receipt/{ref}.json" for ref in refs]
    urls += [f"/log/cuba/{p.relative_to(log_dir).as_posix()}" for p in log_dir.rglob("*")]
    out = {}
    for url in urls:
        if url.startswith("/log/cuba/") and (log_dir / url[10:]).is_dir():
            continue
        page = client.get(url)
        assert page.status_code == 200, url
        out[url] = b"".join(page.streaming_content) if page.streaming else page.content
    # every page of the JSON API, by cursor
    cursor = ""
    while True:
        page = client.get(f"/api/v1/campaigns/cuba/donations?limit=7&page={cursor}").json()
        out[f"api page {cursor}"] = json.dumps(page, ensure_ascii=False).encode()
        if not (cursor := page.get("next_page")):
            break
    return out


def _leaks(published: dict[str, bytes]) -> list[str]:
    found = []
    secrets = [run for typed in NUMBERS for run in _digit_runs(typed)]
    for url, body in published.items():
        # a search page repeats the visitor's own query in its search box: not a leak
        asked = set(re.findall(r"[a-z]+", url.partition("q=")[2]))
        text = body.decode("utf-8", "replace")
        # JSON escapes non-ASCII text: decode it as the reader would
        unescaped = text.encode().decode("unicode_escape", "replace") if "\\u" in text else text
        for haystack in {text, unescaped}:
            found += [f"{url}: {s!r}" for s in secrets if s in haystack and s not in url]
            # base64 hashes, signatures and keys can hold any short word ("+Hua/"): words
            # are sought outside runs of 24 or more base64 or hex characters
            prose = re.sub(r"[A-Za-z0-9+/=_-]{24,}", " ", haystack)
            words = set(re.findall(r"[a-z]+", text_fold(prose)))
            found += [f"{url}: word {w!r}" for w in (HIDDEN_WORDS - asked) & words]
    return found


def test_no_published_byte_holds_a_name_or_a_number(client, booked, log_home):
    published = _published(client, Path(log_home) / "log" / "cuba")
    # Given something was published: the pages, the log and one receipt per gift
    assert len(published) > 2 * Donation.objects.count() >= 100
    assert sum(b.count(b'"kind":"donation"') for u, b in published.items() if "/tile/" in u) > 0
    # Then none of the names or numbers appears anywhere
    assert _leaks(published) == []


def test_choices_hold_on_every_channel(client, booked):
    _, intent, give_memo = booked
    statement = json.loads(b"".join(client.get("/c/cuba/statement.json").streaming_content))
    shown = {
        (g["donor"], g["memo"])
        for g in statement
        if intent["reference"] in (g["memo"] or "") or give_memo.split()[1] in (g["memo"] or "")
    }
    assert shown == set()  # anonymous gifts show no memo, so not the reference either
    names = Donation.objects.values_list("display_name", flat=True)
    assert sorted(set(names)) == ["Lương N***** K****", "PHAM Q**** X****", "anonymous"]
    # an anonymous gift is found by neither its donor's name nor its memo
    for q in ("khuc khue thoa", "doan diep huyen", "hua khiem xoan", "ung ho"):
        items = client.get(f"/api/v1/campaigns/cuba/donations?q={q}").json()["items"]
        assert all(i["donor"] != "anonymous" for i in items), q
    # the masked gifts' memos are shown, masked
    memos = {i["memo"] for i in statement}
    assert "P*** Q**** X**** chuyen tien ung ho CUBA ****/***/678 Q**** X****" in memos
    # no log entry of a gift holds a memo
    for body in LogEntry.objects.filter(kind="donation").values_list("body", flat=True):
        assert "memo" not in entry_decode(bytes(body))


def test_erasure_leaves_the_log_verifiable_and_the_totals_unchanged(
    client, booked, log_home, capsys
):
    # Given a masked gift on the pages, and the log's totals as verified
    log_dir = Path(log_home) / "log" / "cuba"
    vkey = client.get("/log/cuba/vkey").content.decode().strip()
    assert cli_main(["verify", str(log_dir), "--vkey", vkey, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    totals = client.get("/api/v1/campaigns/cuba/totals").json()
    gift = Donation.objects.filter(display_name="PHAM Q**** X****").first()
    assert gift is not None
    ref = gift.public_ref
    assert client.get(f"/api/v1/campaigns/cuba/donations?q=pham&ref={ref}").json()["items"]
    # When the donor's private record is erased
    assert cli_main(["donor", "erase", ref, "--by", "privacy desk"]) == 0
    assert "private record erased" in capsys.readouterr().out
    # Then the pages show neither name nor memo, and search finds it by reference only
    assert not DonationPrivate.objects.filter(donation=gift).exists()
    (item,) = client.get(f"/api/v1/campaigns/cuba/donations?ref={ref}").json()["items"]
    assert (item["donor"], item["memo"]) == ("anonymous", "")
    assert client.get(f"/api/v1/campaigns/cuba/donations?q=pham&ref={ref}").json()["items"] == []
    csv_rows = b"".join(client.get("/c/cuba/statement.csv").streaming_content).decode()
    assert f"{ref},anonymous,," in csv_rows.replace('"', "")
    # and the log still verifies, with the same totals; the books agree
    assert cli_main(["verify", str(log_dir), "--vkey", vkey, "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after == before
    assert client.get("/api/v1/campaigns/cuba/totals").json() == totals
    assert ledger_check().ok
    # erasing again says so; an unknown reference is refused
    assert cli_main(["donor", "erase", ref]) == 0
    assert "already erased" in capsys.readouterr().out
    assert cli_main(["donor", "erase", "NOSUCHREF"]) == 2


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("vi", "Quyền riêng tư: chúng tôi công bố gì, và ở đâu"),
        ("en", "Privacy: what we publish, and where"),
        ("es", "Privacidad: qué publicamos y dónde"),
        ("pt-br", "Privacidade: o que publicamos e onde"),
    ],
)
def test_the_privacy_policy_page_in_four_languages_linked_from_every_footer(client, lang, title):
    campaign_factory()
    page = client.get(f"/{lang}/privacy/").content.decode()
    assert f"<h1>{title}</h1>" in page
    assert "SHA-256" in page
    assert "NGUYEN V** A*" in page
    for address in (f"/{lang}/", f"/{lang}/c/cuba/", f"/{lang}/c/cuba/give/"):
        assert f'<a href="/{lang}/privacy/">{title}</a>' in client.get(address).content.decode()


def test_the_give_page_puts_the_chosen_privacy_in_the_memo(client):
    from solidarity.apps.donations.models import PrivacyReference

    campaign_factory()
    # the usual choice needs no reference
    page = client.get("/en/c/cuba/give/?amount=100000&ref=AN").content.decode()
    assert "<code>CUBA AN</code>" in page
    assert not PrivacyReference.objects.exists()
    # a chosen name travels under a fresh reference, before the donor's own one
    page = client.get("/en/c/cuba/give/?privacy=named&name=Gia+dinh+Lan&ref=AN").content.decode()
    (memo,) = set(re.findall(r"<code>(CUBA P[0-9A-Z]{9} AN)</code>", page))
    choice = PrivacyReference.objects.get(reference=memo.split()[1])
    assert (choice.privacy, choice.donor_name) == ("named", "Gia dinh Lan")
    assert client.get("/en/c/cuba/give/?privacy=loud").status_code == 400
