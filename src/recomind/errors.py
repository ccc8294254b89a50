"""The few domain errors; the API maps them to HTTP in one place (``api/errors.py``)."""

from __future__ import annotations


class RecoMindError(Exception):
    """Base of every error RecoMind raises on purpose."""


class NotFoundError(RecoMindError):
    """A referenced object does not exist."""

    def __init__(self, kind: str, field: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} not found")
        self.kind = kind
        self.field = field
        self.value = value


class ConflictError(RecoMindError):
    """An object with that id already exists."""

    def __init__(self, kind: str, field: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} already exists")
        self.kind = kind
        self.field = field
        self.value = value


class UnavailableError(RecoMindError):
    """A backing service (database, bus) cannot be reached; the client should retry."""
