"""Who may call what: the one route policy table (method + path template -> rule).

:mod:`recomind.api.auth` looks every request up here before anything else runs (the cache-hit
path included). A key needs the rule's scope (``admin`` holds every scope); a user token
passes only the rules that let users through, and "own" rules only for its own user id in
the path. ``POST /video_action`` and ``/video_actions/batch`` let user tokens through: the
routes then call :func:`check_acting_user` on each ``user_id`` of the body. Anything not in
the table needs ``admin`` (deny by default); ``OPTIONS`` and the web app's files are open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.types import Scope

from recomind.api.errors import ForbiddenError
from recomind.api.principal import Principal, principal_of
from recomind.config import Settings

#: Whom a rule lets through with a user token: nobody, only its own user (the ``{user_id}``
#: segment), any user (public reads), or the route checks the body's ``user_id``.
Users = Literal["none", "own", "any", "body"]


@dataclass(frozen=True, slots=True)
class Rule:
    scope: str | None  # None: open, no credential needed
    users: Users = "none"
    user_segment: int = -1  # index of the {user_id} segment of the path ("own")


OPEN = Rule(None)
ADMIN = Rule("admin")


@dataclass(frozen=True, slots=True)
class Denied:
    status: int  # 401 or 403
    message: str
    field: str


def route_rules(settings: Settings) -> list[tuple[str, str, Rule]]:
    """The table: ``(method, path template, rule)``; docs/security.md prints it."""

    def admin_or(flag: bool, otherwise: Rule) -> Rule:
        return ADMIN if flag else otherwise

    read_own = Rule("read", "own")
    read_any = OPEN if settings.public_reads else Rule("read", "any")
    ingest_body = Rule("ingest", "body")
    docs = admin_or(settings.admin_docs, OPEN)
    return [
        ("GET", "/healthz", OPEN),
        ("GET", "/readyz", OPEN),
        ("GET", "/", OPEN),
        ("GET", "/dashboard", OPEN),  # the page's shell; its data is /api/stats
        ("GET", "/favicon.ico", OPEN),
        ("GET", "/static/*", OPEN),
        ("GET", "/media/*", OPEN),
        ("POST", "/auth/token", OPEN),  # answers only with RECOMIND_WEB_SIGN_IN
        ("POST", "/video_action", ingest_body),
        ("POST", "/video_actions/batch", ingest_body),
        ("GET", "/recommendations/{user_id}", read_own),
        ("GET", "/trending", read_any),
        ("GET", "/videos/{video_id}", read_any),
        ("POST", "/videos", ADMIN),
        ("POST", "/videos/batch", ADMIN),
        ("POST", "/users", Rule("ingest")),
        ("GET", "/users", admin_or(settings.admin_user_list, Rule("read"))),
        ("GET", "/users/{user_id}", read_own),
        ("GET", "/users/{user_id}/profile", read_own),
        ("GET", "/users/{user_id}/actions", read_own),
        ("DELETE", "/users/{user_id}", ADMIN),
        ("DELETE", "/videos/{video_id}", ADMIN),
        ("POST", "/videos/{video_id}/restore", ADMIN),
        ("GET", "/admin/audit", ADMIN),
        ("GET", "/api/stats", admin_or(settings.admin_stats, OPEN)),
        ("GET", "/metrics", admin_or(settings.admin_metrics, OPEN)),
        ("GET", "/metrics/*", admin_or(settings.admin_metrics, OPEN)),
        ("POST", "/experiments", ADMIN),
        ("GET", "/experiments", ADMIN),
        ("GET", "/experiments/{name}", ADMIN),
        ("GET", "/experiments/{name}/results", ADMIN),
        ("POST", "/experiments/{name}/stop", ADMIN),
        ("POST", "/experiments/{name}/ship", ADMIN),
        ("GET", "/models", ADMIN),
        ("GET", "/models/{version}", ADMIN),
        ("GET", "/docs", docs),
        ("GET", "/docs/oauth2-redirect", docs),
        ("GET", "/redoc", docs),
        ("GET", "/openapi.json", docs),
    ]


class Policy:
    """The table compiled for lookups: exact paths in a dict, templates by segment count,
    ``/prefix/*`` by first segment."""

    def __init__(self, settings: Settings) -> None:
        self.exact: dict[tuple[str, str], Rule] = {}
        self.templates: dict[tuple[str, int], list[tuple[tuple[str | None, ...], Rule]]] = {}
        self.prefixes: dict[tuple[str, str], Rule] = {}
        for method, path, rule in route_rules(settings):
            parts = path.split("/")
            if path.endswith("/*"):
                self.prefixes[method, parts[1]] = rule
            elif "{" not in path:
                self.exact[method, path] = rule
            else:
                pattern = tuple(None if p.startswith("{") else p for p in parts)
                if rule.users == "own":
                    rule = Rule(rule.scope, "own", parts.index("{user_id}"))
                self.templates.setdefault((method, len(parts)), []).append((pattern, rule))

    def rule(self, method: str, path: str) -> Rule:
        if method == "OPTIONS":
            return OPEN
        if method == "HEAD":
            method = "GET"
        found = self.exact.get((method, path))
        if found is not None:
            return found
        parts = path.split("/")
        for pattern, rule in self.templates.get((method, len(parts)), ()):
            if all(p is None or p == s for p, s in zip(pattern, parts, strict=True)) and all(
                parts[i] for i, p in enumerate(pattern) if p is None
            ):
                return rule
        if len(parts) > 2:
            return self.prefixes.get((method, parts[1]), ADMIN)
        return ADMIN


def decide(rule: Rule, principal: Principal, path: str) -> Denied | None:
    """``None`` when ``principal`` may go on; otherwise the 401 or 403 to answer."""
    if rule.scope is None:
        return None
    if principal.kind == "user":
        if rule.users in ("any", "body"):
            return None
        if rule.users == "own":
            if path.split("/")[rule.user_segment] == principal.user_id:
                return None
            return Denied(403, "a user token may only read its own user's data", "path.user_id")
        return Denied(403, f"needs an API key with the {rule.scope} scope", "header.authorization")
    if principal.kind == "anonymous":
        return Denied(401, "expected `Bearer <API key or user token>`", "header.authorization")
    if principal.has(rule.scope):
        return None
    return Denied(403, f"this key lacks the {rule.scope} scope", "header.authorization")


def check_acting_user(scope: Scope, user_id: str, field: str) -> None:
    """A user token may act only as its own user: 403 naming ``field`` otherwise."""
    principal = principal_of(scope)
    if principal.kind == "user" and principal.user_id != user_id:
        raise ForbiddenError(
            field, f"a user token acts only as {principal.user_id!r}, got {user_id!r}"
        )
