"""Who sent a request: what the auth layer (:mod:`recomind.api.auth`) puts in
``scope["state"]["recomind_principal"]`` and every later layer may read (rate limits key their
counters on it). Absent means anonymous (``RECOMIND_AUTH=off``, or an open route)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.types import Scope

from recomind.credentials import SCOPES

STATE_KEY = "recomind_principal"

Kind = Literal["key", "user", "master", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Kind
    key_id: str | None = None
    user_id: str | None = None
    scopes: frozenset[str] = frozenset()

    def has(self, scope: str) -> bool:
        """True when the principal holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Principal("anonymous")
MASTER = Principal("master", key_id="master", scopes=frozenset(SCOPES))


def principal_of(scope: Scope) -> Principal:
    """The request's principal; :data:`ANONYMOUS` when the auth layer set none."""
    state = scope.get("state")
    found = state.get(STATE_KEY) if state is not None else None
    return found if isinstance(found, Principal) else ANONYMOUS


def set_principal(scope: Scope, principal: Principal) -> None:
    scope.setdefault("state", {})[STATE_KEY] = principal
