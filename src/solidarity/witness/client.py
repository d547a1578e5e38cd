"""A log asking its witnesses for cosignatures (c2sp.org/tlog-witness, client side).

All witnesses are asked in parallel, each within one deadline: a witness that is down, slow
or refusing delays the answer by at most `timeout` seconds. A witness that answers 409 with
a smaller size is caught up at once with a consistency proof from that size; one that
answers a larger size than the checkpoint (it saw a longer log: another history, or ours
restored from a backup) is reported, never argued with.
"""

from __future__ import annotations

import base64
import http.client
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from solidarity.core.tlog.checkpoint import checkpoint_parse
from solidarity.core.tlog.cosignature import (
    Cosignature,
    Cosigner,
    cosignature_lines_parse,
    note_cosignatures,
)
from solidarity.core.tlog.note import NoteError, note_split

ProofSource = Callable[[int, int], Sequence[bytes]]
"""(old size, new size) -> the RFC 9162 consistency proof between them."""


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks: its key and its submission prefix (http(s) URL)."""

    cosigner: Cosigner
    url: str


@dataclass
class WitnessOutcome:
    """What one witness answered: its cosignature, or why there is none."""

    name: str
    cosignature: Cosignature | None = None
    error: str | None = None
    known_size: int | None = None
    attempts: int = 0


@dataclass
class Gathered:
    """The cosignatures gathered for one checkpoint, witness by witness."""

    outcomes: list[WitnessOutcome] = field(default_factory=list)

    @property
    def cosignatures(self) -> list[Cosignature]:
        return [o.cosignature for o in self.outcomes if o.cosignature is not None]


def add_checkpoint_body(old: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The add-checkpoint request body: old size line, proof lines, empty line, checkpoint."""
    lines = [f"old {old}\n".encode()] + [base64.b64encode(h) + b"\n" for h in proof]
    return b"".join(lines) + b"\n" + note


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    u = urllib.parse.urlsplit(url.rstrip("/") + "/add-checkpoint")
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"witness URL {url!r} is not http(s)")
    conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("POST", u.path or "/", body, {"Content-Type": "text/plain"})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", "") or "", r.read(65536)
    finally:
        conn.close()


def _ask(
    *,
    endpoint: WitnessEndpoint,
    note: bytes,
    size: int,
    proof_source: ProofSource,
    old: int,
    deadline: float,
    retries: int,
) -> WitnessOutcome:
    out = WitnessOutcome(endpoint.cosigner.name)
    caught_up = False
    failures = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            out.error = out.error or "timed out"
            return out
        try:
            proof = proof_source(old, size) if 0 < old < size else []
            out.attempts += 1
            status, ctype, body = _post(endpoint.url, add_checkpoint_body(old, proof, note), left)
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures += 1
            out.error = f"unreachable: {e}"
            if failures > retries:
                return out
            time.sleep(min(0.05 * 2**failures, max(0.0, deadline - time.monotonic())))
            continue
        if status == 200:
            try:
                lines = cosignature_lines_parse(body)
                text = note.decode("utf-8") + "".join(lines)
                found = note_cosignatures(text, [endpoint.cosigner])
            except (NoteError, UnicodeDecodeError) as e:
                out.error = f"bad cosignature: {e}"
                return out
            if not found:
                out.error = "answered without a cosignature by its key"
                return out
            out.cosignature, out.known_size, out.error = found[0], size, None
            return out
        if status == 409 and ctype.startswith("text/x.tlog.size") and not caught_up:
            try:
                known = int(body.decode("ascii").strip())
            except ValueError:
                out.error = "409 without a size"
                return out
            out.known_size = known
            if known > size:
                out.error = f"the witness has seen size {known}, above ours {size}"
                return out
            old, caught_up = known, True
            continue
        text = body[:200].decode("utf-8", "replace").strip()
        out.error = f"refused with {status}: {text}"
        return out


def cosignatures_gather(
    note: bytes,
    endpoints: Sequence[WitnessEndpoint],
    proof_source: ProofSource,
    *,
    known_sizes: dict[str, int] | None = None,
    timeout: float = 5.0,
    retries: int = 2,
) -> Gathered:
    """Ask every witness to cosign the signed checkpoint note, in parallel, within timeout.

    known_sizes maps a witness name to the size it last cosigned (0 or absent: ask with old 0
    and learn it from the 409). Each outcome's cosignature is verified with the witness's key.
    """
    text, _ = note_split(note)
    size = checkpoint_parse(text).size
    if not endpoints:
        return Gathered()
    deadline = time.monotonic() + timeout
    sizes = known_sizes or {}
    with ThreadPoolExecutor(len(endpoints), thread_name_prefix="witness-ask") as pool:
        futures = [
            pool.submit(
                _ask,
                endpoint=e,
                note=note,
                size=size,
                proof_source=proof_source,
                old=sizes.get(e.cosigner.name, 0),
                deadline=deadline,
                retries=retries,
            )
            for e in endpoints
        ]
        return Gathered([f.result() for f in futures])
