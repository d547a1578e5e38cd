"""Gift preparation beside the parser and the writer: a forked process prepares the gifts of
an import (masking, commitments, log entries) on the other core, batch after batch, while the
parser still spools the file and then while the importing process writes.

Contract: the preparing process has no database connection and writes nothing anywhere; it
reads the import's spool through its own file description, following it as the parser
appends (`read` waits for more until told the spool is complete), and sends, per batch of
`batch_size` spooled transactions (the batches `bank_transactions_book` makes), the gifts it
prepared ahead. Whatever it sends is a guess the writer checks (`donations_record_many` uses
a preparation only for the very same gift); if it dies or falls out of step, the writer
prepares the batch itself. So exactly-once and all-or-nothing per file rest on the writer
alone, as without the pipeline; killing either process loses only work.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import IO

from solidarity.apps.banking.booking import AheadParts
from solidarity.apps.donations.services import PreparedGifts, prepared_parts
from solidarity.core.statements import BankTransaction

logger = logging.getLogger(__name__)


def _parts(prepared: PreparedGifts) -> AheadParts:
    """Plain values only: dataclasses (and a model instance per gift) cost more to pickle
    and load than preparing saves."""
    return {key: prepared_parts(p) for key, p in prepared.items()}


class PreparedAhead:
    """Per batch of the spool, the gifts prepared ahead by a forked process started at once
    (None once it has stopped: the writer then prepares itself). `prepare` must not use the
    database. `close()` stops the process; call it whatever happens to the import."""

    def __init__(
        self,
        spool: IO[bytes],
        *,
        read: Callable[[IO[bytes]], Iterator[BankTransaction]],
        prepare: Callable[[Sequence[BankTransaction]], PreparedGifts],
        batch_size: int,
    ) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        try:
            own = open(f"/proc/self/fd/{spool.fileno()}", "rb")  # noqa: SIM115 - handed to the child
        except OSError:  # no /proc: no pipeline
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        receive = self._receive

        def child() -> None:
            receive.close()
            batch: list[BankTransaction] = []
            try:
                for tx in read(own):
                    batch.append(tx)
                    if len(batch) >= batch_size:
                        send.send(_parts(prepare(batch)))
                        batch = []
                if batch:
                    send.send(_parts(prepare(batch)))
            except (BrokenPipeError, EOFError):  # the writer is gone
                return
            finally:
                send.close()

        self._process = context.Process(target=child, daemon=True)
        self._process.start()
        send.close()
        own.close()

    def __iter__(self) -> Iterator[AheadParts | None]:
        return self

    def __next__(self) -> AheadParts | None:
        if self._process is None:
            return None
        try:
            return self._receive.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            return None

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._receive.close()
        if process.is_alive():  # done but for its exit, or not needed any more
            process.kill()
        process.join()
        if process.exitcode not in (0, None, -9):
            logger.warning("the preparing process ended with %s", process.exitcode)
