"""A small bounded mapping that forgets the least recently used entry (process-local caches).

A thin get/put face over cachetools.LRUCache, so callers keep their two-method interface while the
eviction bookkeeping is the maintained library's."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: LRUCache[K, V] = LRUCache(maxsize=size)

    def get(self, key: K) -> V | None:
        # LRUCache.get counts as a use (moves the key to the recent end), like the old move_to_end.
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        if self.size <= 0:
            return  # LRUCache refuses an item larger than maxsize; a zero-size cache keeps nothing
        self._items[key] = value

    def __len__(self) -> int:
        return len(self._items)
