"""``HEAD`` and ``OPTIONS`` on every route, and a true ``Allow`` on every 405.

FastAPI routes answer only the methods they declare, and Starlette's 405 lists the methods of
the first route whose path matched: ``OPTIONS /users`` said ``Allow: POST`` although
``GET /users`` exists too. This layer, inside the cache-hit path (a hit never reaches it):

- ``HEAD`` on a path with a ``GET`` route runs the ``GET`` and sends its status and headers
  (``Content-Length`` included) without the body;
- a plain ``OPTIONS`` (no ``Access-Control-Request-Method``: a CORS preflight goes on to the
  CORS middleware's answer) on a routed path is ``204`` with ``Allow``;
- a ``405`` carries ``Allow`` listing every method of the path.

The methods of a path are those the OpenAPI schema gives it, matched as OpenAPI says: a
concrete path before templated ones, so ``/videos/batch`` is ``POST`` only (a ``GET`` there
is 405, not a read of video ``batch``); plus those of the app's own top-level routes (the web
app's pages, ``/docs``). Paths neither knows (mounts: ``/static``, ``/media``, ``/metrics``)
go on unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson
from fastapi import FastAPI
from starlette.routing import Match, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The order ``Allow`` lists methods in.
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_VERBS = frozenset(m.lower() for m in _ORDER)
_PREFLIGHT = b"access-control-request-method"


@dataclass
class RouteTable:
    """The schema's paths: concrete ones by path, templated ones as (regex, methods)."""

    concrete: dict[str, frozenset[str]] = field(default_factory=dict)
    templated: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)

    @classmethod
    def of(cls, app: FastAPI) -> RouteTable:
        table = cls()
        for template, item in app.openapi().get("paths", {}).items():
            methods = frozenset(m.upper() for m in item if m in _VERBS)
            if "{" in template:
                table.templated.append((compile_path(template)[0], methods))
            else:
                table.concrete[template] = methods
        return table


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):  # as Starlette routes a request under a root path
        path = path[len(root) :] or "/"
    return path


def allowed_methods(app: FastAPI, table: RouteTable, scope: Scope) -> list[str]:
    """Every method ``scope``'s path answers (with ``HEAD`` beside ``GET``, and ``OPTIONS``);
    empty when neither the schema nor a top-level route knows the path."""
    path = _route_path(scope)
    methods: set[str] = set(table.concrete.get(path, ()))
    if path not in table.concrete:
        for regex, declared in table.templated:
            if regex.match(path):
                methods |= declared
    probe = {**scope, "method": "GET"}
    for route in app.router.routes:  # top-level routes: pages, /openapi.json, /docs
        declared_here: set[str] | None = getattr(route, "methods", None)
        if declared_here and route.matches(probe)[0] is not Match.NONE:
            methods |= declared_here
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))


def _allow(methods: list[str]) -> tuple[bytes, bytes]:
    return (b"allow", ", ".join(methods).encode())


class MethodsLayer:
    """ASGI middleware: ``HEAD``, plain ``OPTIONS`` and ``Allow`` for ``api``'s routes."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        # Starlette builds the middleware on the app's first call (the lifespan's, when the
        # server starts): every route and schema hook is in place, and no request waits.
        self.table = RouteTable.of(api)

    def allowed(self, scope: Scope) -> list[str]:
        return allowed_methods(self.api, self.table, scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            await self._head(scope, receive, send)
            return
        if method == "OPTIONS" and not any(n == _PREFLIGHT for n, _ in scope["headers"]):
            await self._options(scope, receive, send)
            return
        concrete = self.table.concrete.get(_route_path(scope))
        if concrete is None:  # a templated path, a page or a mount: Starlette may say 405
            await self.app(scope, receive, self._fixing_405(scope, send))
        elif method in concrete:  # e.g. POST /video_action: no 405 possible, nothing to wrap
            await self.app(scope, receive, send)
        else:  # e.g. GET /videos/batch
            await _reply_405(send, self.allowed(scope), method)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "GET" not in self.allowed(scope):
            await self.app(scope, receive, self._fixing_405(scope, send))
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self.allowed(scope)
        if not methods:
            await self.app(scope, receive, send)
            return
        headers = [_allow(methods), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _fixing_405(self, scope: Scope, send: Send) -> Send:
        async def fixed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self.allowed(scope)
                if methods:
                    kept = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"allow"]
                    message = {**message, "headers": [*kept, _allow(methods)]}
            await send(message)

        return fixed


async def _reply_405(send: Send, methods: list[str], method: str) -> None:
    """The JSON 405 :mod:`recomind.api.errors` writes, with ``Allow``."""
    body = orjson.dumps(
        {"error": "method_not_allowed", "message": f"{method}: expected {', '.join(methods)}"}
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        _allow(methods),
    ]
    await send({"type": "http.response.start", "status": 405, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
