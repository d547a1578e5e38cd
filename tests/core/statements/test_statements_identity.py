"""Identity: stable across re-imports and overlapping whole-day files, never merging two
transfers, equal for the same transaction in camt and in CSV (IDENTITY.md)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from bench.gen_statement import FORMATS, ICT, Row, rows_write, statement_write
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.statements.statement_helpers import SHARED

from solidarity.core.statements import Profile, statement_read

HEAD = "Số tài khoản: 0011001932418\nNgày GD/TNX Date,Số CT/Doc No,Ghi nợ,Ghi có,Nội dung\n"

row = st.tuples(
    st.integers(1, 5),  # day of September 2024
    st.sampled_from(["5213.47231", "5213.47232", ""]),  # repeated document numbers
    st.sampled_from([("", "200.000"), ("", "500.000"), ("5.500", "")]),
    st.sampled_from(["Ung ho Cuba", "UNG HO CUBA", "", "IBFT ung ho lu lut"]),
)


def csv_of(rows) -> bytes:
    lines = [
        f"{d:02d}/09/2024,{ref},{debit},{credit},{memo}" for d, ref, (debit, credit), memo in rows
    ]
    return (HEAD + "\n".join(lines) + "\n").encode()


def identities(data: bytes) -> list[str]:
    return [t.identity for t in statement_read(io.BytesIO(data), name="s.csv")]


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=40), st.integers(1, 5), st.integers(1, 5))
def test_overlapping_whole_day_files_reproduce_identities(rows, cut_a, cut_b):
    # Given a statement sorted by day, and two files covering days ≤ max(a,b) and ≥ min(a,b)
    rows = sorted(rows, key=lambda r: r[0])
    lo, hi = sorted((cut_a, cut_b))
    first = [r for r in rows if r[0] <= hi]
    second = [r for r in rows if r[0] >= lo]
    # When each is read
    full = identities(csv_of(rows))
    parts = identities(csv_of(first)) + identities(csv_of(second))
    # Then no two rows of a file share an identity, and the union is exactly the full file
    assert len(set(full)) == len(full)
    assert set(parts) == set(full)
    # and re-reading gives the same identities in the same order
    assert identities(csv_of(rows)) == full


def test_identical_transfers_on_one_day_stay_distinct():
    rows = [(10, "5213.47231", ("", "500.000"), "IBFT Ung ho")] * 3
    ids = identities(csv_of(rows))
    base = "ref|5213.47231|credit|500000VND|2024-09-10"
    assert ids == [base, f"{base}#2", f"{base}#3"]


def test_identical_transfers_without_reference_stay_distinct():
    rows = [(10, "", ("", "500.000"), "IBFT Ung ho")] * 3
    ids = identities(csv_of(rows))
    assert len(set(ids)) == 3
    assert [i.rsplit("|", 1)[1] for i in ids] == ["1", "2", "3"]


def test_camt_and_csv_of_the_same_account_agree(tmp_path: Path):
    # Given the same generated statement as camt.053 and as a Vietcombank-like CSV
    statement_write(tmp_path / "s.xml", rows=500, fmt="camt", seed=7)
    statement_write(tmp_path / "s.csv", rows=500, fmt="csv", seed=7)
    camt = list(statement_read(tmp_path / "s.xml", name="s.xml"))
    # When the CSV is read without a profile (a document-number column is the bank reference)
    csv_txs = list(statement_read(tmp_path / "s.csv", name="s.csv"))
    # Then every transaction has the same identity in both
    assert [t.identity for t in camt] == [t.identity for t in csv_txs]
    assert len({t.identity for t in camt}) == 500


def test_a_profile_can_say_the_reference_column_is_not_the_banks(tmp_path: Path):
    statement_write(tmp_path / "s.csv", rows=50, fmt="csv", seed=7)
    txs = list(statement_read(tmp_path / "s.csv", name="s.csv", profile=Profile(unique_ref=False)))
    assert all(t.identity.startswith("h|") for t in txs)


def _at(day: int, minute: int) -> datetime:
    return datetime(2024, 9, day, 8, minute, tzinfo=ICT)


gen_row = st.tuples(
    st.integers(1, 3),
    st.sampled_from(["5213.47231", "5213.47232", "FT24250000007"]),
    st.sampled_from([("credit", 200_000), ("credit", 10_000), ("debit", 5_500)]),
    st.sampled_from(["Ung ho Cuba", "NGUYEN VAN AN chuyen tien", "", "HOAN TRA GD 5213.47231"]),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(gen_row, min_size=1, max_size=20))
def test_every_format_gives_the_same_identities(tmp_path_factory, rows):
    # Given one statement (document numbers repeated within a day, returns flagged)
    statement = sorted(
        (
            Row(_at(day, i), doc, direction, amount, memo, None, reversal=flag)
            for i, (day, doc, (direction, amount), memo, flag) in enumerate(rows)
        ),
        key=lambda r: r.booked_at,
    )
    directory = tmp_path_factory.mktemp("formats")
    seen = {}
    for fmt in FORMATS:
        path = directory / f"s.{fmt}"
        rows_write(path, statement, fmt=fmt)
        # When each format is read
        seen[fmt] = [
            (t.identity, t.direction, t.amount_minor) for t in statement_read(path, name=path.name)
        ]
    # Then every format yields the same identities, none holding the account's spelling
    assert all(v == seen["csv"] for v in seen.values()), seen
    assert len({i for i, _, _ in seen["csv"]}) == len(statement)
    assert not any("0011001932418" in i for i, _, _ in seen["mt940"])


REAL = sorted(
    p for sub in ("camt", "mt940") for p in (SHARED / sub).iterdir() if p.name != "sparkassen.sta"
)


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_statements_rewritten_in_every_format_keep_their_identities(path, tmp_path):
    # Given a real bank file's transactions that carry a bank reference, per account
    groups: dict[tuple[str, str], list] = {}
    for t in statement_read(path, name=path.name):
        if t.bank_ref and t.bank_ref.isprintable():
            groups.setdefault((t.account, t.currency), []).append(t)
    if not groups:
        pytest.skip("no transaction carries a bank reference")
    for n, ((account, currency), txs) in enumerate(groups.items()):
        rows = [
            Row(t.booked_at, t.bank_ref, t.direction, t.amount_minor, "x", None, t.is_reversal)
            for t in txs
        ]
        # MT940's bank reference holds at most 16 characters
        formats = [f for f in FORMATS if f != "mt940" or all(len(r.doc) <= 16 for r in rows)]
        # When they are written in every format (the account spelled as the file did)
        seen = {}
        for fmt in formats:
            out = tmp_path / f"s{n}.{fmt}"
            rows_write(out, rows, fmt=fmt, account=account, currency=currency)
            # (a CSV/XLSX title row states a domestic number; an IBAN needs a profile)
            tabular = fmt in ("csv", "xlsx") and not account.isdigit()
            profile = Profile(account=account) if tabular else None
            seen[fmt] = [t.identity for t in statement_read(out, name=out.name, profile=profile)]
        # Then every format gives them the same identities, those the real file gave them
        # (a camt batch entry split per TxDtls adds the part to its reference: #tx<i>)
        first = seen[formats[0]]
        assert all(v == first for v in seen.values()), seen
        assert len(set(first)) == len(first)
        original = [t.identity for t in txs]
        if all(i.startswith(f"ref|{t.bank_ref}|") for i, t in zip(original, txs, strict=True)):
            assert first == original
