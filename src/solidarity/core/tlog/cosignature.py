"""Ed25519 checkpoint cosignatures of c2sp.org/tlog-cosignature (cosignature/v1, type 0x04).

A cosignature is a signed-note signature line "— <name> base64(key ID || timestamp || sig)":
key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4], timestamp a big-endian u64 of POSIX
seconds, sig an Ed25519 signature over "cosignature/v1\\ntime <timestamp>\\n" || note body.
Verifier keys read "<name>+<hex key ID>+<base64(0x04 || public key)>" (signed-note vkeys),
signer keys "PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>".
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from solidarity.core.tlog.note import (
    SIG_PREFIX,
    NoteError,
    _b64decode,
    _valid_name,
    key_id,
    note_split,
)

ALG_COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = 2**63 - 1


class CosignatureError(NoteError):
    """A cosigner key or cosignature is malformed, or a known cosigner's signature is invalid."""


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a v1 cosignature signs: header line, time line, then the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature timestamp {timestamp} out of range")
    if not text.endswith("\n"):
        raise CosignatureError("checkpoint body must end in a newline")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Cosigner:
    """A witness's public key: who it is and how to check its cosignatures."""

    name: str
    key_id: int
    public_key: bytes

    @property
    def vkey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{b64}"

    def verify(self, text: str, timestamp: int, signature: bytes) -> bool:
        try:
            message = cosigned_message(text, timestamp)
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, CosignatureError):
            return False
        return True


@dataclass(frozen=True, repr=False)
class CosignerSigner:
    """A witness's private key (its 32-byte Ed25519 seed). repr hides the seed."""

    name: str
    key_id: int
    seed: bytes

    def __repr__(self) -> str:
        return f"CosignerSigner(name={self.name!r}, key_id={self.key_id:08x})"

    @property
    def skey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{b64}"

    @property
    def cosigner(self) -> Cosigner:
        pub = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return Cosigner(self.name, self.key_id, pub)

    def cosign(self, text: str, timestamp: int) -> str:
        """The signature line (ending in a newline) cosigning checkpoint body text at timestamp."""
        sig = Ed25519PrivateKey.from_private_bytes(self.seed).sign(
            cosigned_message(text, timestamp)
        )
        raw = self.key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + sig
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(raw).decode()}\n"


def _key_id(name: str, public_key: bytes) -> int:
    return key_id(name, bytes([ALG_COSIGNATURE_V1]) + public_key)


def cosigner_parse(vkey: str) -> Cosigner:
    """A Cosigner from its vkey text (signature type 0x04); the key ID must match the key."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise CosignatureError("a verifier key has three '+'-separated fields")
    name, hexid, b64 = parts
    raw = _b64decode(b64)
    if not _valid_name(name) or len(hexid) != 8 or len(raw) != 33:
        raise CosignatureError("malformed cosigner verifier key")
    if raw[0] != ALG_COSIGNATURE_V1:
        raise CosignatureError(f"verifier key of type 0x{raw[0]:02x}, a cosigner key has type 0x04")
    try:
        kid = int(hexid, 16)
    except ValueError:
        raise CosignatureError("malformed cosigner key ID") from None
    if kid != key_id(name, raw):
        raise CosignatureError("cosigner key ID does not match the key")
    return Cosigner(name, kid, raw[1:])


def cosigner_signer_parse(skey: str) -> CosignerSigner:
    """A CosignerSigner from its "PRIVATE+KEY+..." text; the key ID must match the key."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise CosignatureError("a signer key reads PRIVATE+KEY+<name>+<id>+<key>")
    name, hexid, b64 = parts[2:]
    raw = _b64decode(b64)
    if not _valid_name(name) or len(hexid) != 8 or len(raw) != 33:
        raise CosignatureError("malformed cosigner signer key")
    if raw[0] != ALG_COSIGNATURE_V1:
        raise CosignatureError("a cosigner signer key has type 0x04")
    seed = raw[1:]
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    try:
        kid = int(hexid, 16)
    except ValueError:
        raise CosignatureError("malformed cosigner key ID") from None
    if kid != _key_id(name, pub):
        raise CosignatureError("cosigner key ID does not match the key")
    return CosignerSigner(name, kid, seed)


def cosigner_key_generate(name: str, seed: bytes | None = None) -> tuple[str, str]:
    """A new (signer key, verifier key) pair of texts; seed makes it deterministic (tests)."""
    if not _valid_name(name):
        raise CosignatureError(f"bad cosigner name {name!r}")
    seed = os.urandom(32) if seed is None else seed
    if len(seed) != 32:
        raise CosignatureError("an Ed25519 seed is 32 bytes")
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    signer = CosignerSigner(name, _key_id(name, pub), seed)
    return signer.skey, signer.cosigner.vkey


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who cosigned, and when (POSIX seconds)."""

    name: str
    key_id: int
    timestamp: int
    line: str


def note_cosignatures(msg: bytes | str, cosigners: Iterable[Cosigner]) -> list[Cosignature]:
    """The valid cosignatures on a signed note by the given cosigners, one per cosigner.

    Lines whose name and key ID match no cosigner are ignored (tlog-cosignature: clients
    ignore them). Raises CosignatureError if a known cosigner's line is malformed or its
    signature is invalid; NoteError if the note itself is malformed.
    """
    text, lines = note_split(msg)
    known = {(c.name, c.key_id): c for c in cosigners}
    found: dict[tuple[str, int], Cosignature] = {}
    for sig, raw in lines:
        c = known.get((sig.name, sig.key_id))
        if c is None or (sig.name, sig.key_id) in found:
            continue
        if len(raw) != 4 + 8 + 64:
            raise CosignatureError(f"malformed cosignature by {sig.name}+{sig.key_id:08x}")
        timestamp = int.from_bytes(raw[4:12], "big")
        if timestamp > MAX_TIMESTAMP or not c.verify(text, timestamp, raw[12:]):
            raise CosignatureError(f"invalid cosignature by {sig.name}+{sig.key_id:08x}")
        line = f"{SIG_PREFIX}{sig.name} {sig.b64}\n"
        found[(sig.name, sig.key_id)] = Cosignature(sig.name, sig.key_id, timestamp, line)
    return list(found.values())


def cosignature_lines_parse(body: bytes | str) -> list[str]:
    """The signature lines of a witness's add-checkpoint answer (tlog-witness), unverified.

    Each line starts with "— " and ends with a newline; anything else raises NoteError."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise NoteError("cosignature answer is not UTF-8") from None
    if not text.endswith("\n"):
        raise NoteError("cosignature answer must end in a newline")
    lines = [line + "\n" for line in text[:-1].split("\n")]
    if any(not line.startswith(SIG_PREFIX) for line in lines):
        raise NoteError("cosignature answer holds a line that is not a signature")
    return lines


def note_add_signatures(note: bytes | str, lines: Iterable[str]) -> str:
    """The signed note with signature lines appended, skipping lines it already carries."""
    text = note.decode("utf-8") if isinstance(note, bytes) else note
    note_split(text)
    have = set(text.split("\n"))
    extra = []
    for line in lines:
        if line.rstrip("\n") not in have:
            have.add(line.rstrip("\n"))
            extra.append(line if line.endswith("\n") else line + "\n")
    return text + "".join(extra)


class QuorumError(CosignatureError):
    """A checkpoint carries fewer valid cosignatures than the quorum requires."""


def checkpoint_quorum_check(
    note: bytes | str, cosigners: Iterable[Cosigner], quorum: int
) -> list[Cosignature]:
    """The valid cosignatures on a checkpoint note; QuorumError if fewer than quorum.

    quorum 0 accepts a note without cosignatures (a log without witnesses)."""
    found = note_cosignatures(note, cosigners)
    if len(found) < quorum:
        who = ", ".join(c.name for c in found) or "none"
        raise QuorumError(
            f"{len(found)} valid cosignatures ({who}), {quorum} required by the log's witnesses"
        )
    return found


@dataclass
class WitnessPolicy:
    """The witnesses and quorum a log announced, replayed entry by entry in log order.

    Entries: {"kind": "witness", "action": "added"|"removed", "vkey": ...} and
    {"kind": "witness_quorum", "quorum": N}."""

    cosigners: dict[str, Cosigner]
    quorum: int = 0

    @classmethod
    def empty(cls) -> WitnessPolicy:
        return cls({})

    def apply(self, entry: Mapping[str, Any]) -> None:
        """Follow one witness or witness_quorum entry; CosignatureError (and no change) if it
        is malformed or would leave fewer witnesses than the quorum."""
        kind = entry.get("kind")
        cosigners, quorum = dict(self.cosigners), self.quorum
        if kind == "witness":
            vkey, action = entry.get("vkey"), entry.get("action")
            if not isinstance(vkey, str):
                raise CosignatureError("a witness entry needs a vkey")
            c = cosigner_parse(vkey)
            if action == "added":
                cosigners[c.name] = c
            elif action == "removed":
                if cosigners.get(c.name) != c:
                    raise CosignatureError(f"witness {c.name} removed but never added")
                del cosigners[c.name]
            else:
                raise CosignatureError(f"witness entry with action {action!r}")
        elif kind == "witness_quorum":
            q = entry.get("quorum")
            if not isinstance(q, int) or isinstance(q, bool) or q < 0:
                raise CosignatureError(f"bad quorum {q!r}")
            quorum = q
        else:
            return
        if quorum > len(cosigners):
            raise CosignatureError(f"{len(cosigners)} witnesses left for a quorum of {quorum}")
        self.cosigners, self.quorum = cosigners, quorum

    @property
    def vkeys(self) -> list[str]:
        return [c.vkey for c in self.cosigners.values()]
