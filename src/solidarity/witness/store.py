"""The witness's durable state and its add-checkpoint rule (c2sp.org/tlog-witness).

Layout of a witness directory:

    witness.key            the cosigner's private key (PRIVATE+KEY+..., type 0x04), mode 0600
    witness.vkey           its verifier key
    witness.lock           held (flock) by the one process serving this directory
    logs/<sha256(origin)>.jsonl  the checkpoints cosigned for that origin, as submitted, one
                           JSON record a line followed by a tab and its SHA-256; the last
                           line is the latest
    evidence/<ns>-<hash>   JSON: a signed checkpoint refused as a fork, beside the one cosigned

Crash contract: the record of the latest cosigned checkpoint is appended to its origin's
journal and the journal fdatasynced before any cosignature for it leaves the process (one
flush per cosigned checkpoint). A crash at any instant leaves the journal's earlier lines whole
and at most its last line torn; a torn last line (bad checksum) was never acknowledged, so it
is dropped on opening. Opening rewrites each journal to its latest record (temporary file,
fsync, rename, directory fsync) before anything is appended, and a failed append makes the next
record rewrite the journal the same way, so a torn line is never followed by another: a bad
line anywhere but last means the state is damaged and the witness refuses to start. So the
witness never cosigns two checkpoints of the same size with different roots, nor a size below
one it cosigned. Checking the old size and persisting the new record happen under one lock
(the spec's rollback race). Records of the earlier layout (`logs/<sha256(origin)>`, one JSON
object) are read and moved into journals on opening.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from solidarity.core.tlog.checkpoint import Checkpoint, CheckpointError, checkpoint_parse
from solidarity.core.tlog.cosignature import (
    CosignerSigner,
    cosigner_key_generate,
    cosigner_signer_parse,
)
from solidarity.core.tlog.hashing import HASH_SIZE
from solidarity.core.tlog.note import NoteError, Verifier, note_open, note_split
from solidarity.core.tlog.proof import ProofError, consistency_verify

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"
LOCK_FILE = "witness.lock"
LOGS_DIR = "logs"
EVIDENCE_DIR = "evidence"
JOURNAL_SUFFIX = ".jsonl"
JOURNAL_COMPACT_BYTES = 1 << 20
"""A journal longer than this is rewritten to its latest record at the next append."""
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


class WitnessError(Exception):
    """The witness directory cannot be used (no key, already served, unreadable state)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of add-checkpoint: status, content type and body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str) -> Answer:
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode())


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint cosigned for one origin, with the signed note it came in."""

    origin: str
    size: int
    root: bytes
    note: str


def _origin_file(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write data to path so that a crash leaves either the old or the new file, whole."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _journal_line(latest: Latest) -> bytes:
    """One journal line: the record's JSON, a tab, the hex SHA-256 of that JSON, a newline."""
    record = json.dumps(
        {
            "origin": latest.origin,
            "size": latest.size,
            "root": base64.b64encode(latest.root).decode(),
            "note": latest.note,
        },
        sort_keys=True,
    ).encode()
    return record + b"\t" + hashlib.sha256(record).hexdigest().encode() + b"\n"


def _latest_parse(data: bytes) -> Latest:
    d = json.loads(data)
    return Latest(d["origin"], int(d["size"]), base64.b64decode(d["root"]), d["note"])


def _journal_read(path: Path) -> Latest | None:
    """The latest record of a journal (None if it holds none); WitnessError if damaged."""
    lines = path.read_bytes().split(b"\n")
    if not lines[-1]:
        lines.pop()  # the journal ends with a newline
    found: list[Latest | None] = []
    for line in lines:
        record, _, digest = line.partition(b"\t")
        latest = None
        if hashlib.sha256(record).hexdigest().encode() == digest:
            with contextlib.suppress(ValueError, KeyError, TypeError, binascii.Error):
                latest = _latest_parse(record)
        found.append(latest)
    if found and found[-1] is None:
        found.pop()  # a torn last append: never acknowledged
    if None in found:
        raise WitnessError(f"{path}: damaged witness journal (a bad line before the last)")
    return found[-1] if found else None


def witness_init(directory: Path, name: str) -> str:
    """Create a witness directory with a new cosigner key; the verifier key. Never overwrites."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / KEY_FILE
    if key_path.exists():
        raise WitnessError(f"{key_path}: a witness key exists already; it is never replaced")
    try:
        skey, vkey = cosigner_key_generate(name)
    except NoteError as e:
        raise WitnessError(str(e)) from None
    _write_durably(key_path, (skey + "\n").encode())
    _write_durably(directory / VKEY_FILE, (vkey + "\n").encode())
    return vkey


def _request_parse(body: bytes) -> tuple[int, list[bytes], bytes] | Answer:
    """(old size, proof hashes, signed checkpoint) of an add-checkpoint body, or a 400."""
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        return Answer.text(400, "request lacks the empty line before the checkpoint")
    lines = head.split(b"\n")
    first = lines[0].decode("ascii", "replace")
    if not first.startswith("old ") or not _SIZE_RE.fullmatch(first[4:]):
        return Answer.text(400, "the first line must read 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        return Answer.text(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for n, line in enumerate(lines[1:], start=2):
        try:
            h = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            h = b""
        if len(h) != HASH_SIZE:
            return Answer.text(400, f"line {n}: a proof line is one base64 SHA-256 hash")
        proof.append(h)
    return int(first[4:]), proof, note


class WitnessStore:
    """A witness directory opened for serving: its key, the logs it accepts, its records.

    Opening takes the directory's lock (one serving process per directory); close() frees it."""

    def __init__(self, directory: Path, logs: Iterable[Verifier]) -> None:
        self.directory = directory
        key_path = directory / KEY_FILE
        try:
            self.signer: CosignerSigner = cosigner_signer_parse(key_path.read_text())
        except FileNotFoundError:
            raise WitnessError(
                f"{key_path}: no witness key; run `solidarity witness init`"
            ) from None
        except NoteError as e:
            raise WitnessError(f"{key_path}: {e}") from None
        self.logs: dict[str, list[Verifier]] = {}
        for v in logs:
            self.logs.setdefault(v.name, []).append(v)
        (directory / LOGS_DIR).mkdir(exist_ok=True)
        (directory / EVIDENCE_DIR).mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._lockfile: IO[bytes] | None = None
        self._acquire()
        self._latest: dict[str, Latest] = {}
        self._journals: dict[str, tuple[int, int]] = {}  # origin -> (append fd, bytes written)
        try:
            self._open_records()
        except BaseException:
            self.close()
            raise

    def _open_records(self) -> None:
        """Read every record, then rewrite each origin's journal to its latest record."""
        folder = self.directory / LOGS_DIR
        legacy = []
        for path in sorted(folder.iterdir(), key=lambda p: p.name.endswith(JOURNAL_SUFFIX)):
            if path.name.endswith(".tmp"):
                path.unlink()
            elif path.name.endswith(JOURNAL_SUFFIX):
                latest = _journal_read(path)
                if latest is not None:
                    if path.name != _origin_file(latest.origin) + JOURNAL_SUFFIX:
                        raise WitnessError(
                            f"{path}: journal of origin {latest.origin!r} under another name"
                        )
                    self._latest[latest.origin] = latest  # a journal is newer than a record
            else:
                latest = self._record_load(path)
                self._latest.setdefault(latest.origin, latest)
                legacy.append(path)
        for latest in self._latest.values():
            self._journal_rewrite(latest)
        for path in legacy:
            path.unlink()

    def _record_load(self, path: Path) -> Latest:
        try:
            d = json.loads(path.read_text())
            latest = Latest(d["origin"], int(d["size"]), base64.b64decode(d["root"]), d["note"])
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as e:
            raise WitnessError(f"{path}: unreadable witness record ({e})") from None
        if path.name != _origin_file(latest.origin):
            raise WitnessError(f"{path}: record of origin {latest.origin!r} under another name")
        return latest

    def _acquire(self) -> None:
        """Take the directory's lock for this process; refused if another process serves it."""
        f = (self.directory / LOCK_FILE).open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise WitnessError(f"{self.directory}: another witness process serves it") from None
        self._lockfile = f

    def close(self) -> None:
        for fd, _ in self._journals.values():
            os.close(fd)
        self._journals.clear()
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def latest(self, origin: str) -> Latest | None:
        return self._latest.get(origin)

    def _journal_rewrite(self, latest: Latest) -> None:
        """Replace the origin's journal by one holding only `latest`, durably; keep it open."""
        old = self._journals.pop(latest.origin, None)
        if old is not None:
            os.close(old[0])
        path = self.directory / LOGS_DIR / (_origin_file(latest.origin) + JOURNAL_SUFFIX)
        line = _journal_line(latest)
        _write_durably(path, line)
        self._journals[latest.origin] = (os.open(path, os.O_WRONLY | os.O_APPEND), len(line))

    def _persist(self, latest: Latest) -> None:
        """Make `latest` the origin's durable latest record (must hold self._lock)."""
        journal = self._journals.get(latest.origin)
        line = _journal_line(latest)
        if journal is None or journal[1] + len(line) > JOURNAL_COMPACT_BYTES:
            self._journal_rewrite(latest)
        else:
            fd, written = journal
            try:
                _write_all(fd, line)
                os.fdatasync(fd)
            except OSError:
                # Maybe a torn line at the end: the next record rewrites the journal whole.
                del self._journals[latest.origin]
                os.close(fd)
                raise
            self._journals[latest.origin] = (fd, written + len(line))
        self._latest[latest.origin] = latest

    def _evidence_keep(self, latest: Latest, note: str, reason: str, proof: list[bytes]) -> None:
        record = {
            "origin": latest.origin,
            "reason": reason,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cosigned": latest.note,
            "refused": note,
            "proof": [base64.b64encode(p).decode() for p in proof],
        }
        name = f"{time.time_ns()}-{_origin_file(latest.origin)[:16]}.json"
        _write_durably(
            self.directory / EVIDENCE_DIR / name,
            json.dumps(record, sort_keys=True, ensure_ascii=False).encode(),
        )

    def add_checkpoint(self, body: bytes, now: int | None = None) -> Answer:
        """Answer one add-checkpoint request body as tlog-witness specifies."""
        parsed = _request_parse(body)
        if isinstance(parsed, Answer):
            return parsed
        old, proof, raw_note = parsed
        try:
            text, _ = note_split(raw_note)
            cp = checkpoint_parse(text)
        except (NoteError, CheckpointError) as e:
            return Answer.text(400, f"checkpoint: {e}")
        verifiers = self.logs.get(cp.origin)
        if not verifiers:
            return Answer.text(404, f"unknown log origin {cp.origin!r}")
        try:
            note_open(raw_note, verifiers)
        except NoteError as e:
            return Answer.text(403, f"checkpoint signature: {e}")
        if old > cp.size:
            return Answer.text(400, f"old size {old} is above the checkpoint size {cp.size}")
        if old == 0 and proof:
            return Answer.text(400, "the proof must be empty when the old size is 0")
        note = raw_note.decode("utf-8")
        with self._lock:
            answer = self._check_and_record(cp, old, proof, note)
            if answer is not None:
                return answer
        timestamp = int(time.time()) if now is None else now
        return Answer(
            200, "text/plain; charset=utf-8", self.signer.cosign(text, timestamp).encode()
        )

    def _check_and_record(
        self, cp: Checkpoint, old: int, proof: list[bytes], note: str
    ) -> Answer | None:
        """None once cp is recorded as the latest cosigned checkpoint; else the refusal.

        Must be called holding self._lock."""
        latest = self._latest.get(cp.origin)
        have = latest.size if latest else 0
        if latest is not None and cp.size == latest.size and cp.root != latest.root:
            self._evidence_keep(
                latest, note, f"two checkpoints of size {cp.size} with different roots", proof
            )
            return Answer(409, SIZE_CONTENT_TYPE, f"{have}\n".encode())
        if old != have:
            return Answer(409, SIZE_CONTENT_TYPE, f"{have}\n".encode())
        if latest is not None and cp.size == latest.size:
            if proof:
                return Answer.text(422, "the proof between equal sizes must be empty")
            return None
        if latest is not None:
            try:
                consistency_verify(latest.size, cp.size, latest.root, cp.root, proof)
            except ProofError as e:
                self._evidence_keep(
                    latest, note, f"no consistency from size {latest.size}: {e}", proof
                )
                return Answer.text(422, f"consistency proof: {e}")
        self._persist(Latest(cp.origin, cp.size, cp.root, note))
        return None


def evidence_list(directory: Path) -> list[dict[str, Any]]:
    """Every fork record kept in a witness directory, oldest first."""
    folder = directory / EVIDENCE_DIR
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".tmp"):
            continue
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text())
            record["file"] = str(path)
            out.append(record)
    return out


@contextlib.contextmanager
def witness_store_open(directory: Path, logs: Iterable[Verifier]) -> Iterator[WitnessStore]:
    """A WitnessStore holding the directory's lock for as long as the block runs."""
    store = WitnessStore(directory, logs)
    try:
        yield store
    finally:
        store.close()
