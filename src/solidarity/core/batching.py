"""Batches: splitting streams into bounded batches (itertools.batched arrives only in Python
3.12). Gathering many threads' writes into one is `solidarity.infra.group_commit`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """Consecutive tuples of at most `size` items; never holds more than one batch."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    iterator = iter(items)
    while batch := tuple(islice(iterator, size)):
        yield batch
