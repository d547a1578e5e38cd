"""Gift preparation beside the writer: while the importing process writes one batch, a forked
process prepares the next (masking, commitments, log entries, search text), on the other core.

Contract: the preparing process has no database connection and writes nothing anywhere; it
reads the import's spool through its own file description and sends, per batch of
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


def prepared_ahead(
    spool: IO[bytes],
    *,
    read: Callable[[IO[bytes]], Iterator[BankTransaction]],
    prepare: Callable[[Sequence[BankTransaction]], PreparedGifts],
    batch_size: int,
) -> Iterator[AheadParts | None]:
    """Per batch of the spool, the gifts prepared ahead by a forked process (None once it
    has stopped: the writer then prepares itself). `prepare` must not use the database."""
    try:
        own = open(f"/proc/self/fd/{spool.fileno()}", "rb")  # noqa: SIM115 - handed to the child
    except OSError:  # no /proc: no pipeline
        while True:
            yield None
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

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

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    own.close()
    try:
        while True:
            try:
                wire = receive.recv()
            except (EOFError, OSError):
                break
            yield wire
        while True:
            yield None
    finally:
        receive.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        if process.exitcode not in (0, None, -9):
            logger.warning("the preparing process ended with %s", process.exitcode)
