"""The event-bus interface every backend implements (:mod:`recomind.stream.factory` picks one).

``kafka://host:port[,host:port]`` speaks the Kafka protocol (aiokafka); ``sqlite:///path`` is
the embedded default: a durable log in one SQLite file, for running with no servers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from recomind.records import Record


class BusUnavailableError(Exception):
    """The bus did not take the message (unreachable, timed out): nothing was accepted."""


class Producer(ABC):
    """Publishes messages; ``publish`` returns only once the bus has them durably."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Raises :class:`BusUnavailableError` when the message was not accepted."""

    @abstractmethod
    async def publish_many(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Publish ``(key, value)`` messages in one go (bulk paths); returns once the bus has
        every one of them durably, each key's messages in the given order.

        Raises :class:`BusUnavailableError` when any was not accepted; some others may have
        been (on Kafka), so bulk events carry ids that make a retry count each once.
        """


class Consumer(ABC):
    """One member of a consumer group on one topic."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """The next records of the partitions assigned to this member, in offset order."""

    @abstractmethod
    async def commit(self, offsets: dict[int, int]) -> None:
        """Record ``partition -> next offset to read`` for the group."""

    @abstractmethod
    async def seek(self, partition: int, offset: int) -> None:
        """Read ``partition`` again from ``offset`` (after a failed batch)."""

    @abstractmethod
    async def lag(self) -> dict[int, int]:
        """Messages not yet committed, per assigned partition."""

    @abstractmethod
    async def end_offsets(self) -> dict[int, int]:
        """The offset the next message will get, per assigned partition (the log's end)."""
