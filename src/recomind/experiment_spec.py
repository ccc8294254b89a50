"""What an experiment is, checked, and who gets which variant (docs/experiments.md).

Pure: no storage, no serving. An experiment splits one surface's users between variants, each
served by a ranker; the first variant is control. Assignment is a function of the salt and the
user id only (:func:`assign`), so a user keeps their variant across cache expiry, restarts and
processes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SURFACES = ("recommendations",)
PRIMARY_METRICS = ("like_rate", "skip_rate", "watch_fraction")
STATUSES = ("running", "stopped", "shipped")
#: Rankers a variant can be served by now: what serves without an experiment, the trending
#: list (the same for everyone, minus what the user saw) and the model-free ranker.
RANKERS = ("current", "trending", "tag-affinity")
#: Named in the contract, not served yet: a pinned model version or an offline strategy.
NOT_YET = ("model:", "strategy:")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MIN_HORIZON = 50
MAX_VARIANTS = 8


class SpecError(ValueError):
    """A bad experiment: ``field`` names the offending input."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    ranker: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ranker": self.ranker, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    surface: str
    variants: tuple[Variant, ...]
    salt: str
    horizon_users: int
    primary: str
    status: str = "running"
    created_at: datetime | None = None
    stopped_at: datetime | None = None
    shipped_variant: str | None = None

    @property
    def control(self) -> str:
        return self.variants[0].name

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def assign(self, user_id: str) -> Variant:
        """The user's variant (:func:`assign`)."""
        return assign(self.salt, user_id, self.variants)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "surface": self.surface,
            "status": self.status,
            "variants": [v.to_json() for v in self.variants],
            "salt": self.salt,
            "horizon_users": self.horizon_users,
            "primary": self.primary,
            "created_at": self.created_at.isoformat() + "Z" if self.created_at else None,
            "stopped_at": self.stopped_at.isoformat() + "Z" if self.stopped_at else None,
            "shipped_variant": self.shipped_variant,
        }


def bucket(salt: str, user_id: str) -> float:
    """``sha256(f"{salt}:{user_id}")`` as a uniform number in ``[0, 1)`` (its first 8 bytes)."""
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(salt: str, user_id: str, variants: Sequence[Variant]) -> Variant:
    """The variant whose share of the cumulative weights holds the user's :func:`bucket`."""
    total = sum(v.weight for v in variants)
    point = bucket(salt, user_id) * total
    upto = 0.0
    for v in variants:
        upto += v.weight
        if point < upto:
            return v
    return variants[-1]


def check_ranker(ranker: str, where: str) -> str:
    if ranker in RANKERS:
        return ranker
    if ranker.startswith(NOT_YET):
        raise SpecError(where, f"{ranker!r}: model versions and strategies are not served yet")
    raise SpecError(where, f"unknown ranker {ranker!r}; expected one of {', '.join(RANKERS)}")


def parse(body: Mapping[str, Any]) -> Experiment:
    """An experiment from its JSON (``POST /experiments``, the CLI); :class:`SpecError` names
    the first bad field."""
    name = body.get("name")
    if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
        raise SpecError("name", "1-64 letters, digits, '_', '.' or '-'")
    surface = body.get("surface", "recommendations")
    if surface not in SURFACES:
        raise SpecError("surface", f"expected one of {', '.join(SURFACES)}")
    raw = body.get("variants")
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_VARIANTS:
        raise SpecError("variants", f"2 to {MAX_VARIANTS} variants, the first is control")
    variants: list[Variant] = []
    for i, v in enumerate(raw):
        where = f"variants[{i}]"
        if not isinstance(v, Mapping):
            raise SpecError(where, "an object {name, ranker, weight}")
        vname = v.get("name")
        if not isinstance(vname, str) or NAME_RE.fullmatch(vname) is None:
            raise SpecError(f"{where}.name", "1-64 letters, digits, '_', '.' or '-'")
        if any(o.name == vname for o in variants):
            raise SpecError(f"{where}.name", f"{vname!r} twice")
        ranker = v.get("ranker")
        if not isinstance(ranker, str):
            raise SpecError(f"{where}.ranker", "a string")
        weight = v.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise SpecError(f"{where}.weight", "a positive number")
        if weight == float("inf"):
            raise SpecError(f"{where}.weight", "a positive number")
        variants.append(Variant(vname, check_ranker(ranker, f"{where}.ranker"), float(weight)))
    salt = body.get("salt") or name
    if not isinstance(salt, str) or len(salt) > 128:
        raise SpecError("salt", "a string of at most 128 characters")
    horizon = body.get("horizon_users", body.get("min_users", 500))
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < MIN_HORIZON:
        raise SpecError("horizon_users", f"an integer of at least {MIN_HORIZON}")
    primary = body.get("primary", "like_rate")
    if primary not in PRIMARY_METRICS:
        raise SpecError("primary", f"expected one of {', '.join(PRIMARY_METRICS)}")
    return Experiment(name, surface, tuple(variants), salt, horizon, primary)
