"""A small in-memory tlog for witness tests: leaves, signed checkpoints, consistency proofs,
add-checkpoint bodies; and a cosignature verifier written from c2sp.org/tlog-cosignature."""

from __future__ import annotations

import base64
import hashlib
import http.client

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from solidarity.core.tlog.checkpoint import Checkpoint, checkpoint_sign
from solidarity.core.tlog.hashing import EMPTY_ROOT, leaf_hash, node_hash, range_hash
from solidarity.core.tlog.note import Signer, key_generate, signer_parse
from solidarity.core.tlog.proof import consistency_proof

ORIGIN = "witnessed.example.org/cuba-2025"


def log_signer(seed: bytes = b"\x11" * 32) -> Signer:
    return signer_parse(key_generate(ORIGIN, seed)[0])


class MemoryLog:
    """A Merkle tree kept level by level; fork() copies it so two views can diverge."""

    def __init__(self, signer: Signer | None = None) -> None:
        self.signer = signer or log_signer()
        self.levels: list[list[bytes]] = [[]]

    def append(self, *entries: bytes) -> None:
        for e in entries:
            self.levels[0].append(leaf_hash(e))
            level, i = 0, len(self.levels[0]) - 1
            while i % 2 == 1:
                parent = node_hash(self.levels[level][i - 1], self.levels[level][i])
                if len(self.levels) == level + 1:
                    self.levels.append([])
                self.levels[level + 1].append(parent)
                level, i = level + 1, i // 2

    def fork(self) -> MemoryLog:
        other = MemoryLog(self.signer)
        other.levels = [list(row) for row in self.levels]
        return other

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def _read(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else range_hash(0, size, self._read)

    def checkpoint(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return checkpoint_sign(Checkpoint(self.signer.name, size, self.root(size)), self.signer)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = self.size if new is None else new
        if old in (0, new):
            return []
        return consistency_proof(old, new, self._read)

    def body(self, old: int, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        lines = [f"old {old}\n".encode()]
        lines += [base64.b64encode(h) + b"\n" for h in self.proof(old, size)]
        return b"".join(lines) + b"\n" + self.checkpoint(size)


def spec_cosignature_check(vkey: str, checkpoint_body: bytes, line: bytes) -> int:
    """The timestamp of a valid cosignature line by vkey on the checkpoint body; else raises.

    Written from tlog-cosignature alone: key ID = SHA-256(name || 0x0A || 0x04 || key)[:4],
    signature = key ID || u64 timestamp || Ed25519 over "cosignature/v1\\ntime T\\n" || body."""
    name, hexid, b64 = vkey.split("+", 2)
    key = base64.b64decode(b64)
    assert key[0] == 0x04
    kid = hashlib.sha256(name.encode() + b"\n\x04" + key[1:]).digest()[:4]
    assert kid.hex() == hexid
    prefix = "\u2014 ".encode() + name.encode() + b" "
    assert line.startswith(prefix) and line.endswith(b"\n"), line
    raw = base64.b64decode(line[len(prefix) : -1])
    assert len(raw) == 76 and raw[:4] == kid
    ts = int.from_bytes(raw[4:12], "big")
    msg = b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + checkpoint_body
    try:
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[12:], msg)
    except InvalidSignature:
        raise AssertionError("cosignature does not verify") from None
    return ts


def note_body(note: bytes) -> bytes:
    return note[: note.index(b"\n\n") + 1]


def post(port: int, body: bytes, timeout: float = 10) -> tuple[int, str, bytes]:
    """POST body to the witness on loopback; (status, content type, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/add-checkpoint", body)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()
