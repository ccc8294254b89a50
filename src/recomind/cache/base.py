"""The cache interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence


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
        """Add one to an integer counter (created at 0); sets the TTL when the counter has
        none (on creation), in the same atomic step."""

    @abstractmethod
    def set_many_if(
        self, guard: str, expected: bytes | None, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        """Store every ``key -> (value, ttl_s)`` of ``values`` only if the value at ``guard``
        is still ``expected`` (``None``: absent); returns whether they were stored.

        Atomic: no write to ``guard`` can fall between the check and the writes (a list
        computed before an invalidation is never stored after it).
        """

    def set_many(self, values: Mapping[str, tuple[bytes, float]]) -> None:
        """Store every ``key -> (value, ttl_s)`` (one round trip where the backend can)."""
        for key, (value, ttl_s) in values.items():
            self.set(key, value, ttl_s)

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values at ``keys`` in order (``None`` where absent), in one round trip."""

    @abstractmethod
    def add_scored_many(
        self, items: Mapping[str, Mapping[str, float]], ttl_s: float, *, keep: int
    ) -> None:
        """Add ``member -> score`` to the sorted set at each key (a member already there takes
        the new score), then keep only its ``keep`` highest-scored members; each key's TTL
        restarts at ``ttl_s``. One round trip, and a set never exists without its TTL."""

    @abstractmethod
    def scored(self, key: str) -> dict[str, float]:
        """The sorted set at ``key`` as ``member -> score`` (empty when absent or expired)."""

    async def fetch(
        self, keys: Sequence[str], scored_key: str | None = None
    ) -> tuple[list[bytes | None], dict[str, float]]:
        """:meth:`get_many` of ``keys`` and :meth:`scored` of ``scored_key`` in one round trip,
        without blocking the event loop (the request path's one read).

        This default calls the blocking methods: right for in-process backends, which never
        wait on I/O (:attr:`is_local`); a networked backend overrides it with an async client.
        """
        values = self.get_many(keys)
        return values, (self.scored(scored_key) if scored_key is not None else {})

    #: True for an in-process backend: calls never block on I/O, so the event loop may make
    #: them directly.
    is_local: bool = False

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
