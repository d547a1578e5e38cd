"""Gift preparation beside the parser and the writer: forked processes prepare the gifts of
an import (masking, commitments, log entries) on the other core, batch after batch, while the
parser still spools the file and then while the importing process writes.

Contract: a preparing process has no database connection and writes nothing but its own two
anonymous files; it reads the import's spool through its own file description, following it
as the parser appends (`read` waits for more until told the spool is complete), and writes,
per batch of `batch_size` spooled transactions (the batches `bank_transactions_book` makes),
what it decided and prepared (`AheadBatch`), up to LOOKAHEAD batches ahead of the writer. The writer
uses that only for the batch it was made from, and checks under its lock what cannot be seen
without the database; if the process dies or falls out of step, the writer decides and
prepares the batch itself. So exactly-once and all-or-nothing per file rest on the writer
alone, as without the pipeline; killing either process loses only work.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from solidarity.apps.banking.booking import AheadBatch
from solidarity.core.statements import BankTransaction

logger = logging.getLogger(__name__)


WORKERS = 2
"""Preparing processes per import, each taking every other batch: with the parser and the
writer that makes four processes on two cores, which the system keeps both busy with
whichever is behind."""

LOOKAHEAD = 40
"""Batches a preparing process may have prepared that the writer has not taken yet. The
writer books nothing before the parser has accepted the whole file; meanwhile the preparing
processes work ahead on the other core instead of waiting for it."""

SWITCH_BYTES = 64 * 2**20
"""A preparing process writes its batches (about 3 MB apiece) into two anonymous files in
turn, starting the other one over once the one it writes holds this much and the writer has
read the other to its end: at most about twice this on disk per process, however long the
statement."""

NICE = 10
"""How much lower a preparing process runs than the importer (os.nice): the parser and the
writer are what every batch waits for, so the preparing processes take the CPU they leave."""


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    files: tuple[IO[bytes], IO[bytes]]
    """Its batches (frames, `_batch_at`), in two anonymous files it writes in turn."""
    magic: bytes
    """Begins each of its frames: a frame is taken only where one of its own begins."""
    taken: Any
    """How many of its batches the writer has taken (shared memory, written by the writer)."""
    current: int = 0
    at: int = 0
    done: bool = False


class PreparedAhead:
    """Per batch of the spool, its `AheadBatch` made by one of `workers` forked processes
    started at once, worker k taking batches k, k + workers, ... (None once that process has
    stopped: the writer then prepares the batch itself). `read` yields the spool's rows as
    `BankTransaction` field tuples; `prepare` must not use the database. `close()` stops the
    processes; call it whatever happens to the import."""

    def __init__(
        self,
        spool: IO[bytes],
        *,
        read: Callable[[IO[bytes]], Iterator[tuple[Any, ...]]],
        prepare: Callable[[Sequence[BankTransaction]], AheadBatch | None],
        batch_size: int,
        workers: int = WORKERS,
    ) -> None:
        self._workers: list[_Worker] = []
        self._next = 0
        context = multiprocessing.get_context("fork")
        for k in range(workers):
            try:  # its own file description: its reads move no offset the parser uses
                own = open(f"/proc/self/fd/{spool.fileno()}", "rb")  # noqa: SIM115 - for the child
            except OSError:  # no /proc: no pipeline
                return
            opened: list[IO[bytes]] = []
            try:
                for _ in range(2):
                    opened.append(tempfile.TemporaryFile(prefix="solidarity-prepared-"))  # noqa: SIM115 - close()
            except OSError:  # no room for temporary files: no more preparing processes
                for f in [own, *opened]:
                    f.close()
                return
            files = (opened[0], opened[1])
            magic, taken = os.urandom(8), context.Value("q", 0, lock=False)
            process = context.Process(
                target=_work,
                args=(own, files, magic, taken),
                kwargs={
                    "read": read,
                    "prepare": prepare,
                    "batch_size": batch_size,
                    "k": k,
                    "workers": workers,
                    "importer": os.getpid(),
                },
                daemon=True,
            )
            process.start()
            own.close()
            self._workers.append(_Worker(process, files, magic, taken))

    def __iter__(self) -> Iterator[AheadBatch | None]:
        return self

    def __next__(self) -> AheadBatch | None:
        if not self._workers:
            return None
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        seq = worker.taken.value
        while not worker.done:
            ended = worker.process.exitcode is not None  # before the read: its last frame
            frame = _batch_at(worker.files[worker.current], worker.at, worker.magic, seq)
            if frame is None:  # or it began the other file again
                frame = _batch_at(worker.files[1 - worker.current], 0, worker.magic, seq)
                if frame is not None:
                    worker.current = 1 - worker.current
            if frame is not None:
                batch, worker.at = frame
                worker.taken.value = seq + 1
                return batch  # type: ignore[no-any-return]
            if ended:  # that process stopped: its batches are the writer's
                worker.done = True
            else:
                time.sleep(0.002)
        return None

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.process.is_alive():  # done but for its exit, or not needed any more
                worker.process.kill()
            worker.process.join()
            for f in worker.files:
                f.close()
            if worker.process.exitcode not in (0, None, -9):
                logger.warning("a preparing process ended with %s", worker.process.exitcode)


def _batch_head(magic: bytes, seq: int) -> bytes:
    """What begins batch number `seq` of a preparing process (`magic`: its own): a frame is
    taken only where that one begins, whatever the other file or an older turn left there."""
    return magic + seq.to_bytes(8, "big")


def _batch_at(f: IO[bytes], at: int, magic: bytes, seq: int) -> tuple[Any, int] | None:
    """Batch number `seq` if all of it is at offset `at` of `f`, and the offset after it."""
    fd = f.fileno()
    return frame_at(fd, at, os.fstat(fd).st_size, _batch_head(magic, seq))


def frame_at(fd: int, at: int, size: int, head: bytes = b"") -> tuple[Any, int] | None:
    """The object pickled in the frame at offset `at` of a file `size` bytes long (`head`,
    an 8-byte big-endian length, then the pickle), and the next frame's offset; None when the
    frame is not all there, or does not begin with `head`."""
    n = len(head)
    if size < at + n + 8:
        return None
    prefix = os.pread(fd, n + 8, at)
    if prefix[:n] != head:
        return None
    length = int.from_bytes(prefix[n:], "big")
    if size < at + n + 8 + length:
        return None
    return pickle.loads(os.pread(fd, length, at + n + 8)), at + n + 8 + length  # noqa: S301 - our own anonymous file


def frame_write(out: IO[bytes], value: Any, head: bytes = b"") -> None:
    """Append `value` to `out` as one frame (`frame_at`), flushed whole."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(head + len(data).to_bytes(8, "big") + data)
    out.flush()


def exit_with_parent(parent: int) -> None:
    """In a forked child of process `parent` (its pid, read in the parent before the fork:
    the parent may be killed before the child runs a line): end this process at once, with
    no clean-up, within a tenth of a second of the parent's death, whatever it is doing, so a
    killed import leaves no process behind parsing or preparing for nobody. Watched from a
    daemon thread."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.1)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _work(
    own: IO[bytes],
    files: tuple[IO[bytes], IO[bytes]],
    magic: bytes,
    taken: Any,
    *,
    read: Callable[[IO[bytes]], Iterator[tuple[Any, ...]]],
    prepare: Callable[[Sequence[BankTransaction]], AheadBatch | None],
    batch_size: int,
    k: int,
    workers: int,
    importer: int,
) -> None:
    """A preparing process: `prepare` each batch k, k + workers, ... of the spool and write
    it for the writer, at most LOOKAHEAD ahead of what it has `taken`, into `files` in turn
    (SWITCH_BYTES). It ends with the importer (`exit_with_parent`)."""
    exit_with_parent(importer)
    os.nice(NICE)
    batch: list[BankTransaction] = []
    written, current = 0, 0
    first = [0, 0]  # the first batch written into each file since it began again

    def send(prepared: AheadBatch | None) -> None:
        nonlocal written, current
        while written - taken.value >= LOOKAHEAD:
            time.sleep(0.005)
        if files[current].tell() >= SWITCH_BYTES:
            while taken.value < first[current]:  # the writer is still in the other file
                time.sleep(0.005)
            current = 1 - current
            files[current].truncate(0)
            files[current].seek(0)
            first[current] = written
        frame_write(files[current], prepared, _batch_head(magic, written))
        written += 1

    for n, row in enumerate(read(own)):
        if (n // batch_size) % workers == k:
            batch.append(BankTransaction(*row))
            if len(batch) >= batch_size:
                send(prepare(batch))
                batch = []
    if batch:
        send(prepare(batch))
