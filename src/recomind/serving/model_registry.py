"""The model registry: every stored version with its status and gate figures, promotion and
rollback (``recomind models``, ``GET /models``).

A thin reader and writer over :class:`~recomind.serving.model_store.ModelStore` (the
versions, ``LATEST``) and its :class:`~recomind.serving.model_journal.Journal` (what
happened to each). Statuses: ``serving`` (``LATEST``), ``previous`` (the champion before it:
what ``rollback`` restores), ``rejected`` (the gate kept it from serving and it never
served), ``retired`` (served once, replaced since).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recomind.serving.model_journal import previous_of
from recomind.serving.model_store import ModelStore

#: The gate figures a listing shows per version (the challenger's, on the holdout).
KEY_FIGURES = ("ndcg@10", "recall@20", "like_rate@10", "coverage@10")


class UnknownVersion(LookupError):
    """No stored version has that name."""


class NothingToRollBack(LookupError):
    """No champion served before the serving one (or it was deleted)."""


@dataclass(frozen=True)
class ModelRegistry:
    """The registry of ``store``."""

    store: ModelStore

    def _meta(self, version: str) -> dict[str, Any]:
        path = self.store.root / version / "meta.json"
        try:
            meta: dict[str, Any] = json.loads(path.read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
            raise UnknownVersion(version) from exc
        return meta

    def _statuses(self) -> Callable[[str], str]:
        """A version's status, from one read of ``LATEST`` and of the journal."""
        serving = self.store.latest()
        champions = self.store.journal.champions()
        previous = previous_of(champions, serving)
        served = set(champions)

        def status(version: str) -> str:
            if version == serving:
                return "serving"
            if version == previous:
                return "previous"
            return "retired" if version in served else "rejected"

        return status

    def list(self) -> list[dict[str, Any]]:
        """One row per stored version, newest first."""
        status = self._statuses()
        rows = []
        for version in reversed(self.store.versions()):
            try:
                meta = self._meta(version)
            except UnknownVersion:
                continue  # a directory being written or deleted
            gate = meta.get("gate") or {}
            challenger = (gate.get("figures") or {}).get("challenger") or {}
            rows.append(
                {
                    "version": version,
                    "status": status(version),
                    "trained_at": meta.get("created_at"),
                    "events": meta.get("n_events"),
                    "ranker": meta.get("ranker") is not None,
                    "gate": gate.get("reason"),
                    "figures": {k: challenger[k] for k in KEY_FIGURES if k in challenger},
                }
            )
        return rows

    def show(self, version: str) -> dict[str, Any]:
        """``version``'s status, meta (gate figures of every contestant included) and
        journal lines."""
        meta = self._meta(version)
        return {
            "version": version,
            "status": self._statuses()(version),
            "meta": meta,
            "journal": self.store.journal.of(version),
        }

    def promote(self, version: str, *, by: str, reason: str) -> None:
        """Serve ``version`` now (a rejected or retired one included)."""
        self._meta(version)
        self.store.publish(version, action="promoted", by=by, reason=reason)

    def rollback(self, *, by: str, reason: str) -> str:
        """Serve the champion before the serving one again; returns its version."""
        target = self.store.journal.previous(self.store.latest())
        if target is None:
            raise NothingToRollBack("no champion served before the serving one")
        try:
            self._meta(target)
        except UnknownVersion as exc:
            raise NothingToRollBack(f"the previous champion {target} was deleted") from exc
        self.store.publish(target, action="rolled_back", by=by, reason=reason)
        return target
