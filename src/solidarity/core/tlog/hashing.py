"""Merkle tree hashing of RFC 9162 §2.1.1 (MTH with 0x00 leaf and 0x01 node prefixes).

Hashes are 32-byte SHA-256 digests. A "row" is hashes of one tree level concatenated into one
bytes object; the hot paths work on rows so that no per-hash objects are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

HashReader = Callable[[int, int], bytes]
"""Returns the hash of the complete subtree at (level, index).

That subtree holds the leaves [index·2^level, (index+1)·2^level).

A reader only has to answer for subtrees lying entirely inside the tree it serves.
"""

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class TreeHead:
    """A tree size and its RFC 9162 root hash."""

    size: int
    root: bytes


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x00 || data)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def leaf_row(entries: Iterable[bytes]) -> bytes:
    """The leaf hashes of entries, concatenated."""
    sha, p = _sha256, LEAF_PREFIX
    return b"".join([sha(p + e).digest() for e in entries])


def row_parent(row: bytes) -> bytes:
    """The parent row of a row holding an even number of hashes."""
    sha, p = _sha256, NODE_PREFIX
    return b"".join([sha(p + row[i : i + 64]).digest() for i in range(0, len(row), 64)])


def row_root(row: bytes) -> bytes:
    """The root of a complete subtree whose bottom row is given; its width must be a power of 2."""
    width = len(row) // HASH_SIZE
    if width == 0 or width & (width - 1) or len(row) % HASH_SIZE:
        raise ValueError(f"row of {len(row)} bytes is not a power-of-2 number of hashes")
    while len(row) > HASH_SIZE:
        row = row_parent(row)
    return row


def split_size(n: int) -> int:
    """The largest power of 2 strictly smaller than n (n ≥ 2), the k of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(lo: int, hi: int, read: HashReader) -> bytes:
    """MTH(D[lo:hi]) from complete subtree hashes; lo must be a multiple of bit_floor(hi - lo).

    Every range met by RFC 9162 proofs satisfies this precondition.
    """
    if hi <= lo:
        raise ValueError(f"empty range [{lo}, {hi})")
    chunks: list[bytes] = []
    n = hi - lo
    while n:
        level = n.bit_length() - 1
        if lo & ((1 << level) - 1):
            raise ValueError(f"range [{lo}, {hi}) is not aligned")
        chunks.append(read(level, lo >> level))
        lo += 1 << level
        n -= 1 << level
    h = chunks[-1]
    for c in reversed(chunks[:-1]):
        h = _sha256(NODE_PREFIX + c + h).digest()
    return h


def tree_root(size: int, read: HashReader) -> bytes:
    """MTH of the first size leaves (EMPTY_ROOT for 0)."""
    return EMPTY_ROOT if size == 0 else range_hash(0, size, read)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of leaf inputs, RFC 9162 §2.1.1."""
    r = CompactRange()
    r.extend(leaf_row(leaves))
    return r.root()


class CompactRange:
    """The right edge of a growing tree: one complete-subtree hash per set bit of the size.

    append is amortised O(1) hashes; root is O(log size).
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        stack, n, h = self._stack, self.size, leaf
        while n & 1:
            h = _sha256(NODE_PREFIX + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self.size += 1

    def extend(self, row: bytes) -> None:
        """Append every leaf hash of a row."""
        for i in range(0, len(row), HASH_SIZE):
            self.append(row[i : i + HASH_SIZE])

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1]
        for c in reversed(self._stack[:-1]):
            h = _sha256(NODE_PREFIX + c + h).digest()
        return h
