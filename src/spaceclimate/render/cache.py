"""Small thread-safe caches: by entry count, by byte budget, and with a time to live."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """Keep the *size* most recently used entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the entry of *key* (marking it recent), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store an entry, evicting the least recently used ones beyond the size."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class ArrayCache(Generic[K]):
    """Keep recently used arrays within a budget of *max_bytes*."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._data: OrderedDict[K, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> np.ndarray | None:
        """Return the array of *key* (marking it recent), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: np.ndarray) -> None:
        """Store an array (read-only), evicting old ones beyond the byte budget."""
        if value.nbytes > self.max_bytes:
            return
        value.setflags(write=False)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.used -= old.nbytes
            self._data[key] = value
            self.used += value.nbytes
            while self.used > self.max_bytes:
                _k, dropped = self._data.popitem(last=False)
                self.used -= dropped.nbytes


class TTLCache(Generic[K, V]):
    """Remember values for *ttl* seconds (at most *size* of them)."""

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._data: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """Return the fresh value of *key*, calling *load* when missing or expired."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Remember *value* for *key* from now on."""
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, value)
