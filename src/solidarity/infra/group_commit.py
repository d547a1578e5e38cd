"""Group commit: many threads' writes gathered into one (`GroupCommit`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False  # written (result or error set); woken and not done: lead the next
        self.result: R | None = None
        self.error: BaseException | None = None
        self.wake = threading.Event()


class GroupCommit(Generic[T, R]):
    """Many threads' writes done together: `submit(item)` returns once `write` has done it.

    Contract: `write(items)` is called with items from one or more callers and returns one
    result per item, in order; it runs in a caller's thread (the leader: the first caller that
    finds no write running), never two at once per GroupCommit. Callers that arrive while a
    write runs wait and go in the next one, so under load one write (one transaction, one lock
    acquisition) serves everyone who arrived during the previous one; alone, a caller writes
    its own item at once. If `write` raises, every caller of that batch gets the exception.
    At most `max_batch` items go in one write. Each waiting caller is woken once, when its
    item is written or when it is to lead the next write (the earliest waiting caller leads).
    """

    def __init__(self, write: Callable[[list[T]], Sequence[R]], *, max_batch: int = 1000):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Slot[T, R]] = []
        self._writing = False

    def _batch_take(self, slot: _Slot[T, R]) -> list[_Slot[T, R]]:
        """Under the lock: `slot` and the earliest others waiting, up to max_batch."""
        self._pending.remove(slot)
        batch = [slot, *self._pending[: self._max_batch - 1]]
        del self._pending[: self._max_batch - 1]
        return batch

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            leading = not self._writing
            if leading:
                self._writing = True
                batch = self._batch_take(slot)
        if not leading:
            slot.wake.wait()
            if slot.done:
                return self._outcome(slot)
            with self._lock:  # the previous leader handed the next write to us
                batch = self._batch_take(slot)
        try:
            results = list(self._write([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"write returned {len(results)} results for {len(batch)}")
            for s, r in zip(batch, results, strict=True):
                s.result = r
        except BaseException as exc:
            for s in batch:
                s.error = exc
        finally:
            with self._lock:
                for s in batch:
                    s.done = True
                successor = self._pending[0] if self._pending else None
                self._writing = successor is not None  # the write passes on to the successor
            for s in batch:
                if s is not slot:
                    s.wake.set()
            if successor is not None:
                successor.wake.set()
        return self._outcome(slot)

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
