"""The model directory's journal: one JSON line per save, publish, rejection, promotion or
rollback (``registry.jsonl``, append-only).

It is what ``recomind models`` and ``GET /models`` read to tell a version's status, and what
a rollback reads to find the champion before the serving one. A line is appended with one
``write`` of at most a few KiB (atomic on a local file system for ``O_APPEND``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOURNAL = "registry.jsonl"
#: Actions that make a version the serving one.
SERVING_ACTIONS = ("published", "promoted", "rolled_back")
ACTIONS = ("rejected", *SERVING_ACTIONS)


@dataclass(frozen=True)
class Journal:
    """The journal of the model directory ``root``."""

    root: Path

    @property
    def path(self) -> Path:
        return self.root / JOURNAL

    def append(self, *, action: str, version: str, by: str, reason: str) -> dict[str, Any]:
        """Record ``action`` on ``version``; returns the line written."""
        if action not in ACTIONS:
            raise ValueError(f"unknown journal action {action!r}")
        line = {"at": time.time(), "action": action, "version": version, "by": by}
        line["reason"] = reason
        self.root.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(line, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return line

    def entries(self) -> list[dict[str, Any]]:
        """Every line, oldest first (a torn or foreign line is skipped)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        out = []
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("version"), str):
                out.append(line)
        return out

    def of(self, version: str) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["version"] == version]

    def champions(self) -> list[str]:
        """The versions that served, in the order they started serving (repeats kept)."""
        return [e["version"] for e in self.entries() if e.get("action") in SERVING_ACTIONS]

    def previous(self, serving: str | None) -> str | None:
        """The champion that served before ``serving`` took over (``None``: none)."""
        return previous_of(self.champions(), serving)


def previous_of(champions: list[str], serving: str | None) -> str | None:
    """In ``champions`` (:meth:`Journal.champions`), the one before ``serving``'s last run."""
    seq = list(champions)
    while seq and seq[-1] == serving:
        seq.pop()
    return seq[-1] if seq else None
