"""Health, readiness, metrics, OpenAPI, and serving on with Redis down."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from recomind.config import Settings
from tests.api.helpers import act, admin_headers, load_catalogue
from tests.utils.stacks import Api, running_api


def test_health_ready_metrics_docs(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}
    ready = api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "cache": "ok"}
    api.http.get("/trending")
    metrics = api.http.get("/metrics/").text
    assert 'recomind_http_requests_total{method="GET",route="/trending",status="200"}' in metrics
    assert "recomind_cache_lookups_total" in metrics
    spec = api.http.get("/openapi.json").json()
    assert {"/recommendations/{user_id}", "/video_action", "/trending"} <= set(spec["paths"])
    assert api.http.get("/docs").status_code == 200


def test_redis_down_still_serves_from_database(
    embedded_api: Api, stack_settings: Callable[..., Settings]
) -> None:
    """Point the cache at a port where no Redis listens: answers come from the database."""
    settings = stack_settings("embedded", cache_url="redis://127.0.0.1:1/0")
    with running_api(settings) as api:
        load_catalogue(api.http, 10)
        act(api.http, "u1", "v1", "like")
        api.settle()
        for _ in range(2):
            r = api.http.get("/recommendations/u1", params={"n": 5})
            assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
            assert len(r.json()) == 5
        assert api.http.get("/trending").status_code == 200
        ready = api.http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["cache"].startswith("error")


def test_unknown_route_is_json_404(api: Api) -> None:
    r = httpx.get(api.base_url + "/nope", headers=admin_headers())
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    # Without a credential an unknown path is refused first (the policy denies by default).
    r = httpx.get(api.base_url + "/nope")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
