"""ASGI middleware: request size limits (body, URL, headers) and Prometheus request metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "recomind_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "recomind_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def _reply_413(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "error": "payload_too_large",
            "message": f"body: must be at most {limit} bytes",
            "field": "body",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, by header or while streaming.

    ``limit`` applies to every path but those in ``routes`` (exact path -> its own limit:
    the batch endpoints take larger bodies).
    """

    def __init__(self, app: ASGIApp, limit: int, routes: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = limit
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(scope.get("path", ""), self.default_limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await _reply_413(send, limit)
                    return
        if any(name == b"content-length" for name, _ in scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        # Chunked upload: buffer up to the limit, then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply_413(send, limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class MetricsMiddleware:
    """Count and time requests per route template (not per raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            if not path.startswith("/metrics"):
                REQUESTS.labels(scope["method"], path, str(status)).inc()
                LATENCY.labels(scope["method"], path).observe(time.perf_counter() - start)


async def _reply(send: Send, status: int, code: str, field: str, message: str) -> None:
    body = orjson.dumps({"error": code, "message": message, "field": field})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HeadLimitMiddleware:
    """Refuse a URL over ``max_url`` bytes (414) or headers over ``max_headers`` bytes (431).

    uvicorn's httptools parser takes a request head of any size (its h11 parser is bounded by
    ``h11_max_incomplete_event_size``, which ``recomind serve`` sets to the same bound), so this
    is where an oversized head stops before auth or a route reads it.
    """

    def __init__(self, app: ASGIApp, max_headers: int, max_url: int) -> None:
        self.app = app
        self.max_headers = max_headers
        self.max_url = max_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            url = len(scope.get("raw_path") or scope["path"]) + len(scope["query_string"])
            if url > self.max_url:
                msg = f"path and query: must be at most {self.max_url} bytes"
                await _reply(send, 414, "uri_too_long", "url", msg)
                return
            size = sum(len(k) + len(v) for k, v in scope["headers"])
            if size > self.max_headers:
                msg = f"headers: must be at most {self.max_headers} bytes in all"
                await _reply(send, 431, "headers_too_large", "headers", msg)
                return
        await self.app(scope, receive, send)
