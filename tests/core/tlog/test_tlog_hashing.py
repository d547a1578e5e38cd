"""RFC 9162 §2.1.1 hashing: reference roots and the incremental right edge."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.tlog.hashing import (
    EMPTY_ROOT,
    CompactRange,
    leaf_hash,
    node_hash,
    root_from_leaves,
    row_root,
    split_size,
)

from .conftest import TESTDATA


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = split_size(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_rfc6962_reference_roots() -> None:
    ref = json.loads((TESTDATA / "generated" / "rfc6962_reference_roots.json").read_text())
    leaves = [bytes.fromhex(x) for x in ref["leaf_inputs_hex"]]
    assert [leaf_hash(x).hex() for x in leaves] == ref["leaf_hashes_hex"]
    roots = ref["root_hashes_hex_by_size"]
    assert len(roots) == len(leaves) + 1
    for size in range(len(leaves) + 1):
        assert root_from_leaves(leaves[:size]).hex() == roots[str(size)]


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_compact_range_matches_reference(leaves: list[bytes]) -> None:
    r = CompactRange()
    for i, x in enumerate(leaves):
        assert r.root() == reference_root(leaves[:i])
        r.append(leaf_hash(x))
    assert r.root() == reference_root(leaves)
    assert r.size == len(leaves)


def test_row_root_refuses_non_power_of_two() -> None:
    with pytest.raises(ValueError, match="power-of-2"):
        row_root(b"\x00" * 96)


def test_compact_range_refuses_short_hash() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
