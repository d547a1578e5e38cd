"""Key rotation of a log: `key` entries announcing the next verifier key, and the chain of
links that lets a verifier holding the log's first key accept checkpoints of later keys.

A link is a receipt (entry, index, RFC 9162 §2.1.3 inclusion proof, checkpoint) of one `key`
entry whose checkpoint is signed by the key in force before it. Published as KEYS_PATH
beside the checkpoint (a JSON list of links, oldest first) and carried in receipts as "keys".
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from solidarity.core.tlog.checkpoint import Checkpoint, CheckpointError, checkpoint_open
from solidarity.core.tlog.entry import EntryError, entry_decode
from solidarity.core.tlog.hashing import leaf_hash
from solidarity.core.tlog.note import NoteError, Verifier, verifier_parse
from solidarity.core.tlog.proof import ProofError, inclusion_verify

KEYS_PATH = "keys.json"


class KeyChainError(ValueError):
    """A key link does not prove the rotation it claims; the message names the link."""


def keys_follow(
    first: Verifier, links: Sequence[Mapping[str, Any]], origin: str | None = None
) -> list[tuple[Verifier, Checkpoint | None]]:
    """Every key the log announced from `first` on, each with the checkpoint (signed by the
    key before it) that proved its announcement; KeyChainError at the first bad link. Links
    older than `first` (a verifier given a later key) are skipped."""
    keys: list[tuple[Verifier, Checkpoint | None]] = [(first, None)]
    start = 0
    for n, link in enumerate(links):
        entry = link.get("entry") if isinstance(link, Mapping) else None
        if isinstance(entry, str) and first.vkey in entry:
            start = n + 1  # `first` was announced by this link: follow only what came after
    for n, link in enumerate(links[start:], start):
        where = f"key link {n}"
        try:
            entry, index, proof, note = (
                link["entry"],
                link["index"],
                link["proof"],
                link["checkpoint"],
            )
        except (KeyError, TypeError):
            raise KeyChainError(f"{where}: lacks entry, index, proof or checkpoint") from None
        if not (
            isinstance(entry, str)
            and type(index) is int
            and isinstance(note, str)
            and isinstance(proof, list)
            and all(isinstance(p, str) for p in proof)
        ):
            raise KeyChainError(f"{where}: fields have the wrong types")
        current = keys[-1][0]
        try:
            cp = checkpoint_open(note, current, origin)
            hashes = [base64.b64decode(p, validate=True) for p in proof]
            inclusion_verify(leaf_hash(entry.encode()), index, cp.size, hashes, cp.root)
            obj = entry_decode(entry.encode())
            if obj["kind"] != "key" or not isinstance(obj.get("vkey"), str):
                raise KeyChainError(f"{where}: entry {index} is not a key announcement")
            nxt = verifier_parse(obj["vkey"])
        except (NoteError, CheckpointError) as e:
            raise KeyChainError(
                f"{where}: checkpoint not signed by the key before it: {e}"
            ) from None
        except (binascii.Error, ValueError, ProofError, EntryError) as e:
            if isinstance(e, KeyChainError):
                raise
            raise KeyChainError(
                f"{where}: entry {index} is not proven in its checkpoint: {e}"
            ) from None
        if nxt.name != current.name:
            raise KeyChainError(
                f"{where}: announces a key named {nxt.name!r}, not {current.name!r}"
            )
        keys.append((nxt, cp))
    return keys


def checkpoint_open_any(
    note: bytes | str, keys: Sequence[tuple[Verifier, Checkpoint | None]], origin: str | None
) -> Checkpoint:
    """The checkpoint, verified by the newest key of `keys` that signed it; the error of the
    newest key when none did."""
    error: Exception | None = None
    for verifier, _ in reversed(keys):
        try:
            return checkpoint_open(note, verifier, origin)
        except (NoteError, CheckpointError) as e:
            error = error or e
    assert error is not None
    raise error


def keys_parse(data: bytes | None) -> list[dict[str, Any]]:
    """The links of a published KEYS_PATH file (none when absent)."""
    if data is None:
        return []
    try:
        links = json.loads(data)
    except ValueError as e:
        raise KeyChainError(f"{KEYS_PATH}: not JSON: {e}") from None
    if not isinstance(links, list) or not all(isinstance(x, dict) for x in links):
        raise KeyChainError(f"{KEYS_PATH}: not a list of links")
    return links
