"""Sequencing: append a batch of entries to a tiled log and publish its signed checkpoint.

Implements the write order of c2sp.org/tlog-tiles: bundles and hash tiles first, the checkpoint
last, so a crash leaves the previous checkpoint valid and a retry of the same batch converges.
"""

from __future__ import annotations

from collections.abc import Sequence

from solidarity.core.tlog.checkpoint import Checkpoint, checkpoint_open, checkpoint_sign
from solidarity.core.tlog.note import Signer
from solidarity.core.tlog.tiles import TileStore, TileWriter

CHECKPOINT_PATH = "checkpoint"


def checkpoint_current(store: TileStore, signer: Signer, origin: str) -> Checkpoint | None:
    """The store's checkpoint, verified with the signer's own key; None for a new log."""
    data = store.read(CHECKPOINT_PATH)
    return None if data is None else checkpoint_open(data, signer.verifier, origin)


def log_append(
    store: TileStore, *, signer: Signer, origin: str, entries: Sequence[bytes]
) -> Checkpoint:
    """Append entries (canonical bytes) after the current checkpoint and publish the new one.

    The caller must hold the log's single-writer lock. If this raises, the published checkpoint
    is unchanged and the same entries must be appended again before any others.
    """
    current = checkpoint_current(store, signer, origin)
    head = TileWriter(store, 0 if current is None else current.size).append(entries)
    cp = Checkpoint(origin, head.size, head.root)
    store.replace(CHECKPOINT_PATH, checkpoint_sign(cp, signer))
    return cp
