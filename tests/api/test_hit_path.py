"""The cache-hit path answers as the routes would, and leaves everything else to them.

Each request is made twice: through the whole app (where a hit takes the hit path) and
straight through the routes (the app the hit path wraps), over the same state and cache.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from recomind.api.hit_path import CacheHitPath, page_size
from tests.api.helpers import act, load_catalogue
from tests.utils.credentials import admin_headers
from tests.utils.stacks import Api


def _get(app: Any, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=admin_headers()
        ) as client:
            return await client.get(path)

    return asyncio.run(call())


def _routes_only(api: Api) -> Any:
    """The ASGI app the hit path hands requests on to: the routes, with their middleware."""
    assert api.app is not None
    layer: Any = api.app.middleware_stack  # built by the first request
    while not isinstance(layer, CacheHitPath):
        layer = layer.app
    inner = layer.app

    async def routes(scope: Any, receive: Any, send: Any) -> None:
        await inner({**scope, "app": api.app}, receive, send)  # as Starlette's entry sets it

    return routes


def _served(api: Api) -> float:
    value = REGISTRY.get_sample_value(
        "recomind_http_requests_total",
        {"method": "GET", "route": "/recommendations/{user_id}", "status": "200"},
    )
    return value or 0.0


def test_a_hit_is_the_routes_answer_byte_for_byte(api: Api) -> None:
    videos = load_catalogue(api.http)
    assert act(api.http, "u1", videos[0]["video_id"], "view").status_code == 202
    first = api.http.get("/recommendations/u1", params={"n": 7})
    assert first.headers["x-cache"] == "miss"
    before = _served(api)
    hit = api.http.get("/recommendations/u1", params={"n": 7})
    assert hit.headers["x-cache"] == "hit"
    assert _served(api) == before + 1  # counted in the same metrics as the route's answers
    routes = _get(_routes_only(api), "/recommendations/u1?n=7")
    assert routes.headers["x-cache"] == "hit"
    assert hit.content == routes.content == first.content
    assert hit.headers["content-type"] == routes.headers["content-type"] == "application/json"
    assert int(hit.headers["content-length"]) == len(hit.content)
    items = orjson.loads(hit.content)
    assert len(items) == 7 and videos[0]["video_id"] not in {i["video_id"] for i in items}
    trending = api.http.get("/trending", params={"n": 3})
    again = api.http.get("/trending", params={"n": 3})
    assert again.headers["x-cache"] == "hit" and again.content == trending.content


@pytest.mark.parametrize(
    "path",
    [
        "/recommendations/u1?n=0",
        "/recommendations/u1?n=100000",
        "/recommendations/u1?n=abc",
        "/recommendations/u1?n=5&n=6",
        "/recommendations/u1?n=5&x=1",
        "/recommendations/bad%20id",
        "/recommendations/" + "u" * 129,
        "/trending?n=-1",
    ],
)
def test_bad_input_gets_the_routes_answer(api: Api, path: str) -> None:
    load_catalogue(api.http)
    api.http.get("/recommendations/u1")  # a cached list and trending: a hit if it were valid
    api.http.get("/trending")
    whole = api.http.get(path)
    routes = _get(_routes_only(api), path)
    assert whole.status_code == routes.status_code
    assert whole.status_code in (200, 422)
    assert orjson.loads(whole.content) == orjson.loads(routes.content)


def test_a_dropped_list_goes_to_the_route(api: Api) -> None:
    videos = load_catalogue(api.http)
    act(api.http, "u1", videos[0]["video_id"], "view")
    api.http.get("/recommendations/u1")
    lists = api.state.recommendations.lists
    refresh, lists.refresh = lists.refresh, lambda user: None  # no refresh: the route computes
    try:
        lists.drop("u1")
        assert api.http.get("/recommendations/u1").headers["x-cache"] == "miss"
        assert api.http.get("/recommendations/u1").headers["x-cache"] == "hit"
    finally:
        lists.refresh = refresh


def test_page_size_accepts_only_a_lone_valid_n() -> None:
    assert page_size(b"", 20, 100) == 20
    assert page_size(b"n=7", 20, 100) == 7
    assert page_size(b"n=100", 20, 100) == 100
    assert page_size(b"n=5&", 20, 100) == 5  # as the route reads it
    arabic_five = "n=\u0665".encode()
    bad = (b"n=0", b"n=101", b"n=", b"n=1.5", b"n=+5", b"n=5&n=5", b"m=5", b"x", arabic_five)
    for query in bad:
        assert page_size(query, 20, 100) is None, query


def test_a_catalogue_change_shows_in_cached_lists_at_once(api: Api) -> None:
    videos = load_catalogue(api.http)
    act(api.http, "u1", videos[0]["video_id"], "view")
    api.http.get("/recommendations/u1")
    listed = api.http.get("/recommendations/u1")
    assert listed.headers["x-cache"] == "hit"
    first = orjson.loads(listed.content)[0]
    changed = {**next(v for v in videos if v["video_id"] == first["video_id"])}
    changed["title"] = "A new title"
    changed.pop("created_at", None)
    r = api.http.post("/videos/batch", params={"mode": "upsert"}, json={"videos": [changed]})
    assert r.status_code == 200, r.text
    again = api.http.get("/recommendations/u1")
    assert again.headers["x-cache"] == "hit"  # the same cached list ...
    item = orjson.loads(again.content)[0]
    assert item["video_id"] == first["video_id"] and item["title"] == "A new title"  # ... new card


def test_hits_take_no_thread_hop(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hit is served on the event loop: nothing goes through the worker-thread pool (which
    FastAPI uses for plain ``def`` routes and dependencies, and RecoMind for misses)."""
    import anyio.to_thread

    videos = load_catalogue(api.http)
    act(api.http, "u1", videos[0]["video_id"], "view")
    api.http.get("/recommendations/u1")  # the miss computes on a worker thread
    api.http.get("/trending")
    for _ in range(3):  # warm: the video cards are held
        api.http.get("/recommendations/u1")
    hops: list[object] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    for path in ("/recommendations/u1", "/recommendations/u1?n=5", "/trending?n=3"):
        r = api.http.get(path)
        assert r.headers["x-cache"] == "hit", path
    assert hops == []
    api.http.get("/users/u1/profile")  # a plain def route: the counter does see hops
    assert hops
