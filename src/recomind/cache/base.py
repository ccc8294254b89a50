"""The cache interface every backend implements."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping


class CacheError(Exception):
    """The cache backend could not be reached or answered with an error."""


class Cache(ABC):
    """Bytes under string keys with a TTL in seconds. Keys arrive already prefixed."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""

    @abstractmethod
    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        """Store ``value``; it expires after ``ttl_s`` seconds."""

    @abstractmethod
    def delete(self, *keys: str) -> int:
        """Remove keys; returns how many existed."""

    @abstractmethod
    def incr(self, key: str, ttl_s: float | None = None) -> int:
        """Add one to an integer counter (created at 0); sets the TTL when it is created."""

    @abstractmethod
    def set_many_if(
        self, guard: str, expected: bytes | None, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        """Store every ``key -> (value, ttl_s)`` of ``values`` only if the value at ``guard``
        is still ``expected`` (``None``: absent); returns whether they were stored.

        Atomic: no write to ``guard`` can fall between the check and the writes (a list
        computed before an invalidation is never stored after it).
        """

    @abstractmethod
    def add_members(self, key: str, members: list[str], ttl_s: float) -> None:
        """Add strings to the set at ``key``; its TTL restarts at ``ttl_s``."""

    def add_members_many(self, items: Mapping[str, list[str]], ttl_s: float) -> None:
        """:meth:`add_members` for several keys at once (one round trip where the backend
        can); each key's TTL restarts at ``ttl_s``."""
        for key, members in items.items():
            self.add_members(key, members, ttl_s)

    @abstractmethod
    def members(self, key: str) -> builtins.set[str]:
        """The set at ``key`` (empty when absent or expired)."""

    @abstractmethod
    def ttl(self, key: str) -> float | None:
        """Seconds left, ``None`` when the key is absent or has no expiry."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix`` (tests and admin only)."""

    @abstractmethod
    def try_lock(self, key: str, ttl_s: float) -> str | None:
        """Take the lock ``key`` for at most ``ttl_s`` seconds unless another holder has it.

        Returns the holder's token (pass it to :meth:`unlock`), or ``None`` when it is held.
        """

    @abstractmethod
    def unlock(self, key: str, token: str) -> bool:
        """Release ``key`` if ``token`` still holds it; ``False`` when it expired (and may
        have been taken by someone else since), which leaves the other holder's lock alone."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the backend answers."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
