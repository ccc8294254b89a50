"""Bare apps for ``bench.bench_line_rate``: the HTTP stack alone, returning fixed bytes.

Each serves ``GET /recommendations/{user_id}`` with the bytes in the file named by
``BENCH_BODY_FILE`` (a cached RecoMind list, fetched by the benchmark) and the same
``X-Cache: hit`` header, plus ``GET /healthz`` (the ``starlette`` kind also takes
``POST /video_action``, answering 202 with fixed bytes: ``bench.bench_guard``'s bare POST).
Run as its own process, with the same
``uvicorn.run`` call as ``recomind serve`` (uvloop and httptools when installed, the
log level given) and the access log on or off:

    BENCH_BODY_FILE=body.json python -m bench.bare_apps starlette --port 8001 [--access-log]

Kinds: ``starlette`` (a bare Starlette route), ``fastapi-async`` (an ``async def`` FastAPI
route with a query parameter), ``fastapi-sync`` (the same as a ``def`` route: thread pool).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recomind.api.app import uvicorn_options
from recomind.config import Settings

KINDS = ("starlette", "fastapi-async", "fastapi-sync")
HEADERS = {"X-Cache": "hit"}


def _body() -> bytes:
    name = os.environ.get("BENCH_BODY_FILE")
    return Path(name).read_bytes() if name else b"[]"


def starlette_app(body: bytes) -> Starlette:
    async def recommendations(request: Request) -> Response:
        return Response(body, media_type="application/json", headers=HEADERS)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def accept(request: Request) -> Response:  # bench.bench_guard's bare POST
        await request.body()
        return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")

    return Starlette(
        routes=[
            Route("/recommendations/{user_id}", recommendations),
            Route("/healthz", healthz),
            Route("/video_action", accept, methods=["POST"]),
        ]
    )


def fastapi_app(body: bytes, *, sync: bool) -> FastAPI:
    app = FastAPI()

    if sync:

        @app.get("/recommendations/{user_id}")
        def recommendations_sync(user_id: str, n: int = 20) -> Response:
            return Response(body, media_type="application/json", headers=HEADERS)

    else:

        @app.get("/recommendations/{user_id}")
        async def recommendations(user_id: str, n: int = 20) -> Response:
            return Response(body, media_type="application/json", headers=HEADERS)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def make_app(kind: str, body: bytes) -> Any:
    if kind == "starlette":
        return starlette_app(body)
    if kind in ("fastapi-async", "fastapi-sync"):
        return fastapi_app(body, sync=kind == "fastapi-sync")
    raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description="A bare app for bench.bench_line_rate.")
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    args = ap.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # As ``recomind serve`` (cli._serve): loop and http "auto", one process.
    uvicorn.run(
        make_app(args.kind, _body()),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        **uvicorn_options(Settings()),
    )


if __name__ == "__main__":
    main()
