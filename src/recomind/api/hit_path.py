"""The cache-hit path: ``GET /recommendations/{user_id}`` and ``GET /trending`` answered from
the cache before FastAPI routes the request.

FastAPI's per-request work (matching the route, solving its parameters and dependencies,
building the response, two middlewares) costs more than a cache hit itself. This ASGI layer
(inside the auth layer, :mod:`recomind.api.auth`, so hits are authenticated too) serves the
requests the cache can answer now — a well-formed user id, no query string or only ``n``
within ``1..max_n``, a cached list — with the same bytes and headers the routes would send,
and counts them in the same Prometheus metrics. Everything else (a miss, a list dropped by a
taste action, any bad input, other paths and methods) goes on to the app unchanged, so the
routes stay the one definition of the endpoints, their errors and their OpenAPI schema. A
page whose video cards the database failed carries ``X-RecoMind-Degraded: database``, and a
page of a user in an experiment ``X-RecoMind-Variant``, as the routes send them; a list cached
for another experiment arm is declined (:meth:`RecommendationService.cached_page`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from recomind.api.middleware import LATENCY, REQUESTS
from recomind.api.state import AppState
from recomind.schemas import ID_RE
from recomind.serving.service import Served
from recomind.storage.outage import DEGRADED_DATABASE, DEGRADED_HEADER

PREFIX = "/recommendations/"
ROUTE = "/recommendations/{user_id}"
_JSON = (b"content-type", b"application/json")
_DEGRADED = (DEGRADED_HEADER.lower().encode(), DEGRADED_DATABASE.encode())


def page_size(query: bytes, default_n: int, max_n: int) -> int | None:
    """``n`` of a query string holding nothing else, or ``default_n`` for an empty one;
    ``None`` for anything the route must judge (another parameter, a bad or repeated ``n``)."""
    if not query:
        return default_n
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "n" or not pairs[0][1].isascii():
        return None
    if not pairs[0][1].isdigit():
        return None
    n = int(pairs[0][1])
    return n if 1 <= n <= max_n else None


class CacheHitPath:
    """ASGI middleware serving cache hits; ``state`` gives the app's :class:`AppState`."""

    def __init__(self, app: ASGIApp, state: Callable[[], AppState]) -> None:
        self.app = app
        self.state = state
        self._counted = {
            (route, how): (
                REQUESTS.labels("GET", route, "200"),
                LATENCY.labels("GET", route),
                how.encode(),
            )
            for route in (ROUTE, "/trending")
            for how in ("hit", "stale")
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path: str = scope["path"]
        served: Served | None = None
        route = ""
        if path.startswith(PREFIX):
            route = ROUTE
            served = await self._user_page(path[len(PREFIX) :], scope["query_string"])
        elif path == "/trending":
            route = "/trending"
            served = await self._trending(scope["query_string"])
        if served is None:
            await self.app(scope, receive, send)
            return
        body, how, request_id, degraded, variant = served
        requests, latency, header = self._counted[route, how]
        headers = [(b"content-length", b"%d" % len(body)), (b"x-cache", header), _JSON]
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        if degraded:
            headers.append(_DEGRADED)
        if variant:  # the user's experiment arm (docs/experiments.md)
            headers.append((b"x-recomind-variant", variant.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        requests.inc()
        latency.observe(time.perf_counter() - start)

    async def _user_page(self, user_id: str, query: bytes) -> Served | None:
        if ID_RE.fullmatch(user_id) is None:
            return None
        state = self.state()
        settings = state.settings
        n = page_size(query, settings.default_n, settings.max_n)
        if n is None:
            return None
        return await state.recommendations.cached_page(user_id, n)

    async def _trending(self, query: bytes) -> Served | None:
        state = self.state()
        settings = state.settings
        n = page_size(query, settings.default_n, settings.max_n)
        if n is None:
            return None
        return await state.recommendations.cached_trending(n)
