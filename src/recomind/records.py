"""A message as read back from the event bus: where it sits in the topic, and its bytes.

Neutral ground: the stream (which reads records) and the lake (which files them by topic,
partition and offset) both use it, and neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One message of ``topic`` at ``partition`` / ``offset``, with its key and value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
