"""SQLite: an import's connection lets the WAL grow before a checkpoint (IMPORT_CHECKPOINT_PAGES)
through every batch, and goes back to SQLite's default when it ends. (A SQLite setting: this
stage runs on SQLite. The test database lives in memory, where Django never reconnects, so the
setting applied again after `_sqlite_statements_release` is not exercised here.)"""

import functools
from pathlib import Path

import pytest
from django.db import connection

from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.imports import services
from tests.factories import campaign_factory

pytestmark = pytest.mark.django_db
VCB = "970436"


def _pages() -> int:
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint")
        return int(cur.fetchone()[0])


def test_an_import_checkpoints_the_wal_less_often_and_restores_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert connection.vendor == "sqlite"
    # Given: a statement booked one row a batch, the setting read after each batch
    campaign_factory(goal=10**12, accounts=(AccountInput(VCB, "0011001932418"),))
    head = "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
    rows = [f"10/09/2024,FT2425400000000{i},,300.000,NGUYEN VAN A{i} ung ho CUBA" for i in range(7)]
    path = tmp_path / "s.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(
        services,
        "bank_transactions_book",
        functools.partial(services.bank_transactions_book, batch_size=1),
    )
    seen: list[int] = []
    report = services.statement_import(
        path=path,
        progress=lambda phase, done, total: seen.append(_pages()) if phase == "book" else None,
    )
    # Then: while booking, the WAL is checkpointed at
    # IMPORT_CHECKPOINT_PAGES; after, at SQLite's default again
    assert report.counts.booked == 7, report.as_dict()
    assert seen == [services.IMPORT_CHECKPOINT_PAGES] * 7
    assert _pages() == services.SQLITE_CHECKPOINT_PAGES
