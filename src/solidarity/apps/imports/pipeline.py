"""Gift preparation beside the parser and the writer: a forked process prepares the gifts of
an import (masking, commitments, log entries) on the other core, batch after batch, while the
parser still spools the file and then while the importing process writes.

Contract: the preparing process has no database connection and writes nothing anywhere; it
reads the import's spool through its own file description, following it as the parser
appends (`read` waits for more until told the spool is complete), and sends, per batch of
`batch_size` spooled transactions (the batches `bank_transactions_book` makes), what it
decided and prepared (`AheadBatch`). The writer uses that only for the batch it was made from,
and checks under its lock what cannot be seen without the database; if the process dies or
falls out of step, the writer decides and prepares the batch itself. So exactly-once and
all-or-nothing per file rest on the writer alone, as without the pipeline; killing either
process loses only work.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import IO, Any

from solidarity.apps.banking.booking import AheadBatch
from solidarity.core.statements import BankTransaction

logger = logging.getLogger(__name__)


WORKERS = 2
"""Preparing processes per import, each taking every other batch: with the parser and the
writer that makes four processes on two cores, which the system keeps both busy with
whichever is behind."""


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
        self._workers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        self._next = 0
        context = multiprocessing.get_context("fork")
        for k in range(workers):
            try:
                own = open(f"/proc/self/fd/{spool.fileno()}", "rb")  # noqa: SIM115 - for the child
            except OSError:  # no /proc: no pipeline
                return
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(own, [receive, *(r for _, r in self._workers)], send),
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
            send.close()
            own.close()
            self._workers.append((process, receive))

    def __iter__(self) -> Iterator[AheadBatch | None]:
        return self

    def __next__(self) -> AheadBatch | None:
        if not self._workers:
            return None
        _, receive = self._workers[self._next % len(self._workers)]
        self._next += 1
        if receive.closed:
            return None
        try:
            return receive.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):  # that process stopped: its batches are the writer's
            receive.close()
            return None

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for process, receive in workers:
            receive.close()
            if process.is_alive():  # done but for its exit, or not needed any more
                process.kill()
            process.join()
            if process.exitcode not in (0, None, -9):
                logger.warning("a preparing process ended with %s", process.exitcode)


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
    receiving: Sequence[Connection],
    send: Connection,
    *,
    read: Callable[[IO[bytes]], Iterator[tuple[Any, ...]]],
    prepare: Callable[[Sequence[BankTransaction]], AheadBatch | None],
    batch_size: int,
    k: int,
    workers: int,
    importer: int,
) -> None:
    """A preparing process: `prepare` each batch k, k + workers, ... of the spool; send each.
    It ends with the importer (`exit_with_parent`), and closes the reading ends it inherited
    (its own, and the earlier processes'), so the importer is the only reader of each pipe."""
    exit_with_parent(importer)
    for receive in receiving:
        receive.close()
    batch: list[BankTransaction] = []
    try:
        for n, row in enumerate(read(own)):
            if (n // batch_size) % workers == k:
                batch.append(BankTransaction(*row))
                if len(batch) >= batch_size:
                    send.send(prepare(batch))
                    batch = []
        if batch:
            send.send(prepare(batch))
    except (BrokenPipeError, EOFError):  # the writer is gone
        return
    finally:
        send.close()
