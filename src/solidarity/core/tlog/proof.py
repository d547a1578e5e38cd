"""Inclusion and consistency proofs of RFC 9162 §2.1.3 and §2.1.4: generation and verification.

Generation reads complete-subtree hashes through a HashReader, so a server can answer from its
hash tiles alone (tiles.TileHashReader). Verification follows §2.1.3.2 and §2.1.4.2 and refuses
hashes that are not 32 bytes and consistency proofs from size 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from solidarity.core.tlog.hashing import HASH_SIZE, HashReader, node_hash, range_hash, split_size
from solidarity.core.tlog.tiles import TileHashReader, TileReader


class ProofError(ValueError):
    """A proof does not verify, or its parameters are out of range."""


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    out: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_size(hi - lo)
        if index < lo + k:
            out.append(range_hash(lo + k, hi, read))
            hi = lo + k
        else:
            out.append(range_hash(lo, lo + k, read))
            lo += k
    out.reverse()
    return out


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1; empty when the sizes are equal."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    out: list[bytes] = []
    m, lo, hi, complete = old_size, 0, new_size, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append(range_hash(lo, hi, read))
            break
        k = split_size(n)
        if m <= k:
            out.append(range_hash(lo + k, hi, read))
            hi = lo + k
        else:
            out.append(range_hash(lo, lo + k, read))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def inclusion_proof_from_tiles(reader: TileReader, size: int, index: int) -> list[bytes]:
    """inclusion_proof served from the hash tiles of a tree of the given size."""
    return inclusion_proof(index, size, TileHashReader(reader, size))


def consistency_proof_from_tiles(reader: TileReader, old_size: int, new_size: int) -> list[bytes]:
    """consistency_proof served from the hash tiles of a tree of size new_size."""
    return consistency_proof(old_size, new_size, TileHashReader(reader, new_size))


def _check_hashes(*hashes: bytes | Sequence[bytes]) -> None:
    for h in hashes:
        items = [h] if isinstance(h, bytes | bytearray) else h
        for x in items:
            if len(x) != HASH_SIZE:
                raise ProofError(f"a hash of {len(x)} bytes, expected {HASH_SIZE}")


def inclusion_root(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root a valid inclusion proof implies (RFC 9162 §2.1.3.2, steps 1-6)."""
    _check_hashes(leaf, proof)
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    return r


def inclusion_verify(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless proof shows leaf hash at index in the tree of size with root."""
    _check_hashes(root)
    if inclusion_root(leaf, index, size, proof) != root:
        raise ProofError("inclusion proof does not lead to the root")


def consistency_verify(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless proof shows the tree of old_size is a prefix of new_size's."""
    if old_size == 0 or old_size > new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size == new_size:
        # Equal sizes compare roots as opaque bytes, as transparency-dev/merkle does.
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("roots of equal sizes differ")
        return
    _check_hashes(old_root, new_root, proof)
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")
