"""solidarity.db.values_among: one bound value for a list of ids or of texts, on both databases."""

import pytest
from django.db import connection
from pyroaring import BitMap

from solidarity.db import values_among

pytestmark = pytest.mark.django_db


def _among(values, sql_values):
    among, value = values_among(values)
    with connection.cursor() as cur:
        cur.execute(f"SELECT v FROM ({sql_values}) t WHERE v {among} ORDER BY v", [value])
        return [v for (v,) in cur.fetchall()]


@pytest.mark.parametrize("ids", [[2, 3], BitMap([3, 2]), [], BitMap(), [2**62]])
def test_ids_as_a_list_or_a_bitmap(ids):
    rows = (
        "SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4611686018427387904"
    )
    assert _among(ids, rows) == sorted(ids)


@pytest.mark.parametrize("refs", [["B", "C"], []])
def test_texts_even_none(refs):
    rows = "SELECT 'A' AS v UNION ALL SELECT 'B' UNION ALL SELECT 'C'"
    assert _among(refs, rows) == sorted(refs)
