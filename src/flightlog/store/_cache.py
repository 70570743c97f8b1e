"""A bounded, least-recently-used cache of per-segment values loaded on demand."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ._segment import SegmentMeta

__all__ = ["SegmentCache"]

T = TypeVar("T")


class SegmentCache(Generic[T]):
    """Recently used values by segment id, loaded on demand, bounded in bytes (LRU).

    Blooms of every segment together can be large (about 1/25 of the data on disk), and
    word indexes are read from segment footers, so only those that queries touch are kept.
    """

    def __init__(
        self,
        load: Callable[[SegmentMeta], T],
        size_of: Callable[[T], int],
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._load = load
        self._size_of = size_of
        self._max_bytes = max_bytes
        self._values: OrderedDict[int, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, segment: SegmentMeta) -> T:
        with self._lock:
            found = self._values.get(segment.id)
            if found is not None:
                self._values.move_to_end(segment.id)
                return found[0]
        value = self._load(segment)
        self.put(segment.id, value)
        return value

    def put(self, segment_id: int, value: T) -> None:
        size = self._size_of(value)
        with self._lock:
            old = self._values.pop(segment_id, None)
            self._bytes -= old[1] if old is not None else 0
            self._values[segment_id] = (value, size)
            self._bytes += size
            while self._bytes > self._max_bytes and len(self._values) > 1:
                _, (_, dropped) = self._values.popitem(last=False)
                self._bytes -= dropped
