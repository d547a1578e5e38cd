"""Signed notes of c2sp.org/signed-note with Ed25519 keys (signature type 0x01).

Key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). Verifier keys read
"<name>+<hex key ID>+<base64(0x01 || public key)>", signer keys
"PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>".
Compatible with golang.org/x/mod/sumdb/note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
SIG_PREFIX = "— "
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A key or note is malformed, or a note carries no valid signature from the given keys."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, alg_key: bytes) -> int:
    """The 32-bit key ID of a named key (alg_key = algorithm byte || key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + alg_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(s: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"bad base64 {s!r}") from None


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key."""

    name: str
    key_id: int
    public_key: bytes

    @property
    def vkey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{b64}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, repr=False)
class Signer:
    """A named Ed25519 private key (its 32-byte seed). repr hides the seed."""

    name: str
    key_id: int
    seed: bytes

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"

    @property
    def skey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{b64}"

    @property
    def verifier(self) -> Verifier:
        pub = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return Verifier(self.name, self.key_id, pub)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def verifier_parse(vkey: str) -> Verifier:
    """A Verifier from its "<name>+<hex id>+<base64>" text; the ID must match the key."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key has three '+'-separated fields")
    name, hexid, b64 = parts
    raw = _b64decode(b64)
    if not _valid_name(name) or len(hexid) != 8 or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("malformed Ed25519 verifier key")
    kid = int(hexid, 16)
    if kid != key_id(name, raw):
        raise NoteError("verifier key ID does not match the key")
    return Verifier(name, kid, raw[1:])


def signer_parse(skey: str) -> Signer:
    """A Signer from its "PRIVATE+KEY+<name>+<hex id>+<base64>" text; the ID must match."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("a signer key reads PRIVATE+KEY+<name>+<id>+<key>")
    name, hexid, b64 = parts[2:]
    raw = _b64decode(b64)
    if not _valid_name(name) or len(hexid) != 8 or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("malformed Ed25519 signer key")
    seed = raw[1:]
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    kid = int(hexid, 16)
    if kid != key_id(name, bytes([ALG_ED25519]) + pub):
        raise NoteError("signer key ID does not match the key")
    return Signer(name, kid, seed)


def key_generate(name: str, seed: bytes | None = None) -> tuple[str, str]:
    """A new (signer key, verifier key) pair of texts; seed makes it deterministic (tests)."""
    if not _valid_name(name):
        raise NoteError(f"bad key name {name!r}")
    seed = os.urandom(32) if seed is None else seed
    if len(seed) != 32:
        raise NoteError("an Ed25519 seed is 32 bytes")
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    signer = Signer(name, key_id(name, bytes([ALG_ED25519]) + pub), seed)
    return signer.skey, signer.verifier.vkey


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and base64(key ID || signature)."""

    name: str
    key_id: int
    b64: str


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified, and those by unknown keys."""

    text: str
    sigs: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def _check_text(text: str) -> None:
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("note contains a control character")


def note_sign(text: str, signers: Iterable[Signer]) -> str:
    """The signed note: text (ending in a newline), a blank line, one signature line per signer."""
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    _check_text(text)
    message = text.encode()
    lines = []
    for s in signers:
        sig = s.key_id.to_bytes(4, "big") + s.sign(message)
        lines.append(f"{SIG_PREFIX}{s.name} {base64.b64encode(sig).decode()}\n")
    if not lines:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(lines)


def note_split(msg: bytes | str) -> tuple[str, list[tuple[Signature, bytes]]]:
    """The text of a signed note and its signature lines, each with its raw bytes
    (key ID || signature), in order; nothing is verified. Raises NoteError when malformed."""
    try:
        text_all = msg.decode("utf-8") if isinstance(msg, bytes) else msg
    except UnicodeDecodeError:
        raise NoteError("note is not UTF-8") from None
    _check_text(text_all)
    split = text_all.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = text_all[: split + 1], text_all[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("signature block must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    out: list[tuple[Signature, bytes]] = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        raw = _b64decode(b64) if b64 else b""
        if not _valid_name(name) or len(raw) < 5:
            raise NoteError(f"malformed signature line {line!r}")
        out.append((Signature(name, int.from_bytes(raw[:4], "big"), b64), raw))
    return text, out


def note_open(msg: bytes | str, verifiers: Iterable[Verifier]) -> Note:
    """Open a signed note, verifying the signatures of known keys.

    Signatures by unknown keys are returned unverified. Raises NoteError when the note is
    malformed, a known key's signature is invalid, or no known key signed it.
    """
    text, lines = note_split(msg)
    known = {(v.name, v.key_id): v for v in verifiers}
    message = text.encode()
    sigs: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig, raw in lines:
        name, kid = sig.name, sig.key_id
        v = known.get((name, kid))
        if v is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (name, kid) in seen:
            continue
        seen.add((name, kid))
        if not v.verify(message, raw[4:]):
            raise NoteError(f"invalid signature by {name}+{kid:08x}")
        sigs.append(sig)
    if not sigs:
        raise NoteError("no signature by a known key")
    return Note(text, tuple(sigs), tuple(unverified))
