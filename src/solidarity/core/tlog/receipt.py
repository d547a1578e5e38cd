"""Donor receipts: an entry, its index, an RFC 9162 §2.1.3 inclusion proof and the signed
checkpoint (c2sp.org/tlog-checkpoint) it leads to, with the witnesses' cosignatures
(c2sp.org/tlog-cosignature) and the witness keys and quorum the log announced; checkable
offline with the log's key."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from solidarity.core.tlog.checkpoint import CheckpointError, checkpoint_open
from solidarity.core.tlog.cosignature import checkpoint_quorum_check, cosigner_parse
from solidarity.core.tlog.entry import EntryError, entry_decode
from solidarity.core.tlog.hashing import leaf_hash
from solidarity.core.tlog.keys import KeyChainError, checkpoint_open_any, keys_follow
from solidarity.core.tlog.note import NoteError, Verifier, verifier_parse
from solidarity.core.tlog.proof import ProofError, inclusion_proof_from_tiles, inclusion_verify
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH
from solidarity.core.tlog.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileMissingError,
    TileReader,
    bundle_decode,
    tile_path,
)


class ReceiptError(ValueError):
    """A receipt does not prove what it claims; the message says why."""


@dataclass(frozen=True)
class Receipt:
    """What a donor keeps: the entry text, its index, the proof (base64) and the checkpoint note."""

    entry: str
    index: int
    proof: tuple[str, ...]
    checkpoint: str
    witnesses: tuple[str, ...] = ()
    quorum: int = 0

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "entry": self.entry,
            "index": self.index,
            "proof": list(self.proof),
            "checkpoint": self.checkpoint,
        }
        if self.witnesses or self.quorum:
            d["witnesses"], d["quorum"] = list(self.witnesses), self.quorum
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Receipt:
        try:
            entry, index, proof, cp = d["entry"], d["index"], d["proof"], d["checkpoint"]
        except KeyError as e:
            raise ReceiptError(f"receipt lacks {e.args[0]!r}") from None
        if not (
            isinstance(entry, str)
            and type(index) is int
            and isinstance(proof, list | tuple)
            and all(isinstance(p, str) for p in proof)
            and isinstance(cp, str)
        ):
            raise ReceiptError("receipt fields have the wrong types")
        witnesses, quorum = d.get("witnesses", []), d.get("quorum", 0)
        if not (
            isinstance(witnesses, list | tuple)
            and all(isinstance(w, str) for w in witnesses)
            and type(quorum) is int
            and quorum >= 0
        ):
            raise ReceiptError("receipt witnesses or quorum have the wrong types")
        return cls(entry, index, tuple(proof), cp, tuple(witnesses), quorum)


def receipt_build(
    reader: TileReader,
    index: int,
    verifier: Verifier,
    witnesses: Sequence[str] = (),
    quorum: int = 0,
) -> Receipt:
    """The receipt of entry index against the reader's current checkpoint (with whatever
    cosignatures it carries), from files alone; witnesses and quorum as the log announced."""
    note = reader.read(CHECKPOINT_PATH)
    if note is None:
        raise TileMissingError(f"{CHECKPOINT_PATH}: missing")
    cp = checkpoint_open(note, verifier)
    if not 0 <= index < cp.size:
        raise ReceiptError(f"index {index} is not in the log of size {cp.size}")
    t = index >> TILE_HEIGHT
    path = tile_path(ENTRIES, t, min(TILE_WIDTH, cp.size - t * TILE_WIDTH))
    bundle = reader.read(path)
    if bundle is None:
        raise TileMissingError(f"{path}: missing")
    entry = bundle_decode(bundle)[index & (TILE_WIDTH - 1)]
    proof = inclusion_proof_from_tiles(reader, cp.size, index)
    return Receipt(
        entry=entry.decode("utf-8"),
        index=index,
        proof=tuple(base64.b64encode(p).decode() for p in proof),
        checkpoint=note.decode("utf-8"),
        witnesses=tuple(witnesses),
        quorum=quorum,
    )


@dataclass(frozen=True)
class ReceiptCheck:
    """A verified receipt: its entry, who cosigned its checkpoint, and the quorum applied."""

    entry: dict[str, Any]
    cosigned_by: tuple[str, ...]
    quorum: int


def receipt_check(
    receipt: Receipt | Mapping[str, Any],
    vkey: str | Verifier,
    origin: str | None = None,
    *,
    witnesses: Sequence[str] | None = None,
    quorum: int | None = None,
) -> ReceiptCheck:
    """Check a receipt's checkpoint signature, its quorum of cosignatures, inclusion proof
    and form. witnesses and quorum default to those the receipt carries.

    The checkpoint may be signed by a later key of the log when the receipt's "keys" links
    prove each rotation from `vkey` (`keys.keys_follow`)."""
    r = receipt if isinstance(receipt, Receipt) else Receipt.from_dict(receipt)
    links = [] if isinstance(receipt, Receipt) else receipt.get("keys") or []
    try:
        verifier = vkey if isinstance(vkey, Verifier) else verifier_parse(vkey)
        keys = keys_follow(verifier, links, origin) if isinstance(links, list) else []
        cp = checkpoint_open_any(r.checkpoint, keys or [(verifier, None)], origin)
    except KeyChainError as e:
        raise ReceiptError(f"key rotation: {e}") from None
    except (NoteError, CheckpointError) as e:
        raise ReceiptError(f"checkpoint: {e}") from None
    need = r.quorum if quorum is None else quorum
    try:
        cosigners = [cosigner_parse(w) for w in (r.witnesses if witnesses is None else witnesses)]
        found = checkpoint_quorum_check(r.checkpoint, cosigners, need)
    except NoteError as e:
        raise ReceiptError(f"checkpoint cosignatures: {e}") from None
    data = r.entry.encode("utf-8")
    try:
        proof = [base64.b64decode(p, validate=True) for p in r.proof]
    except (binascii.Error, ValueError):
        raise ReceiptError("proof: bad base64") from None
    try:
        inclusion_verify(leaf_hash(data), r.index, cp.size, proof, cp.root)
    except ProofError as e:
        raise ReceiptError(
            f"entry {r.index} is not in the log signed by the checkpoint: {e}"
        ) from None
    try:
        entry = entry_decode(data)
    except EntryError as e:
        raise ReceiptError(f"entry {r.index}: {e}") from None
    return ReceiptCheck(entry, tuple(c.name for c in found), need)


def receipt_verify(
    receipt: Receipt | Mapping[str, Any], vkey: str | Verifier, origin: str | None = None
) -> dict[str, Any]:
    """The receipt's entry, once receipt_check passed with the receipt's own quorum."""
    return receipt_check(receipt, vkey, origin).entry
