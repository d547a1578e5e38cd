"""Checkpoints of c2sp.org/tlog-checkpoint, signed as c2sp.org/signed-note.

Body: origin line, tree size in decimal, base64 RFC 9162 root hash, then optional extension
lines, each line ending in a newline.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from solidarity.core.tlog.hashing import HASH_SIZE
from solidarity.core.tlog.note import Signer, Verifier, note_open, note_sign

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint is malformed, for another origin, or not signed by the expected key."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of a log's size and root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be one non-empty line")
        if self.size < 0:
            raise CheckpointError("negative tree size")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError("root hash must be 32 bytes")
        if any(not e or "\n" in e for e in self.extensions):
            raise CheckpointError("extension lines must be non-empty single lines")


def checkpoint_format(cp: Checkpoint) -> str:
    """The note text of a checkpoint."""
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode(), *cp.extensions]
    return "".join(line + "\n" for line in lines)


def checkpoint_parse(text: str) -> Checkpoint:
    """The checkpoint in a note text (without signatures)."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size, root, *ext = lines
    if not _SIZE_RE.fullmatch(size):
        raise CheckpointError(f"bad tree size {size!r}")
    try:
        raw = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"bad root hash {root!r}") from None
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != root:
        raise CheckpointError(f"bad root hash {root!r}")
    return Checkpoint(origin, int(size), raw, tuple(ext))


def checkpoint_sign(cp: Checkpoint, signers: Signer | Iterable[Signer]) -> bytes:
    """The signed note of a checkpoint, as served at <log>/checkpoint."""
    many = [signers] if isinstance(signers, Signer) else list(signers)
    return note_sign(checkpoint_format(cp), many).encode()


def checkpoint_open(data: bytes | str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint of a signed note, verified with verifier; origin defaults to the key name."""
    note = note_open(data, [verifier])
    cp = checkpoint_parse(note.text)
    want = verifier.name if origin is None else origin
    if cp.origin != want:
        raise CheckpointError(f"checkpoint origin {cp.origin!r}, expected {want!r}")
    return cp
