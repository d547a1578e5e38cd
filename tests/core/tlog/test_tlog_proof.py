"""RFC 9162 §2.1.3/§2.1.4 proofs: published vectors, proofs served from tiles, invariants."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidarity.core.tlog.hashing import leaf_hash, tree_root
from solidarity.core.tlog.proof import (
    ProofError,
    consistency_proof,
    consistency_proof_from_tiles,
    consistency_verify,
    inclusion_proof,
    inclusion_proof_from_tiles,
    inclusion_verify,
)
from solidarity.core.tlog.tiles import MemoryTileStore, TileHashReader, TileWriter
from solidarity.infra.logreaders import DirectoryReader

from .conftest import TESTDATA, TILES_70000

VECTORS = TESTDATA / "transparency-dev-merkle" / "testdata"
MIRROR = (
    TESTDATA / "sunlight-skylight-mirror" / "cmd" / "skylight" / "testdata" / "witness" / "mirror"
)
MIRROR_LOG = MIRROR / "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706"


def b64(s: str) -> bytes:
    return base64.b64decode(s)


def vectors(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, kind
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


@pytest.mark.parametrize("v", vectors("inclusion"))
def test_inclusion_vector(v: dict[str, Any]) -> None:
    args = (b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []])
    if v["wantErr"]:
        with pytest.raises(ProofError):
            inclusion_verify(*args, b64(v["root"]))
    else:
        inclusion_verify(*args, b64(v["root"]))


@pytest.mark.parametrize("v", vectors("consistency"))
def test_consistency_vector(v: dict[str, Any]) -> None:
    args = (
        v["size1"],
        v["size2"],
        b64(v["root1"]),
        b64(v["root2"]),
        [b64(p) for p in v["proof"] or []],
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            consistency_verify(*args)
    else:
        consistency_verify(*args)


def lines(name: str) -> list[bytes]:
    return [b64(x) for x in (TILES_70000 / name).read_text().split()]


@pytest.mark.parametrize("index", [0, 12345, 69999])
def test_tiles_70000_inclusion_from_tiles(index: int) -> None:
    reader = DirectoryReader(TILES_70000)
    root = b64((TILES_70000 / "checkpoint").read_text().splitlines()[2])
    proof = inclusion_proof_from_tiles(reader, 70000, index)
    assert proof == lines(f"incl_{index}.txt")
    leaf = lines(f"leafhash_{index}.txt")[0]
    assert leaf == leaf_hash(f"donation {index}: amount=12.34 EUR".encode())
    inclusion_verify(leaf, index, 70000, proof, root)


@pytest.mark.parametrize("old", [1, 256, 12345, 65536, 69999])
def test_tiles_70000_consistency_from_tiles(old: int) -> None:
    reader = DirectoryReader(TILES_70000)
    root = b64((TILES_70000 / "checkpoint").read_text().splitlines()[2])
    old_root = lines(f"root_{old}.txt")[0]
    assert tree_root(old, TileHashReader(reader, 70000)) == old_root
    proof = consistency_proof_from_tiles(reader, old, 70000)
    assert proof == lines(f"cons_{old}.txt")
    consistency_verify(old, 70000, old_root, root, proof)


def test_sunlight_mirror_hash_tiles() -> None:
    # Given: Sunlight's hash tiles of 300 leaves. Then: the root is the published one.
    reader = TileHashReader(DirectoryReader(MIRROR_LOG), 300)
    assert base64.b64encode(tree_root(300, reader)).decode() == (
        "gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU="
    )
    assert reader(0, 299) == leaf_hash(b"record 299")


def memory_reader(size: int) -> TileHashReader:
    store = MemoryTileStore()
    TileWriter(store, 0).append([i.to_bytes(4, "big") for i in range(size)])
    return TileHashReader(store, size)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_proof_verifies(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 1400))
    read = memory_reader(size)
    root = tree_root(size, read)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, read)
    inclusion_verify(leaf_hash(index.to_bytes(4, "big")), index, size, proof, root)
    old = data.draw(st.integers(1, size))
    old_root = tree_root(old, read)
    consistency_verify(old, size, old_root, root, consistency_proof(old, size, read))
    if old < size:
        with pytest.raises(ProofError):
            consistency_verify(old, size, root, root, consistency_proof(old, size, read))
    if size > 1:
        wrong = (index + 1) % size
        with pytest.raises(ProofError):
            inclusion_verify(leaf_hash(index.to_bytes(4, "big")), wrong, size, proof, root)


def test_proof_parameters_out_of_range() -> None:
    read = memory_reader(10)
    with pytest.raises(ProofError):
        inclusion_proof(10, 10, read)
    with pytest.raises(ProofError):
        consistency_proof(0, 10, read)
    with pytest.raises(ProofError, match="expected 32"):
        inclusion_verify(b"x" * 31, 0, 1, [], b"x" * 32)


def test_vector_directory_is_beside_checkout() -> None:
    assert Path(VECTORS).is_dir()
