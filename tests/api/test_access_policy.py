"""The route policy and its settings, in process: every route has a rule of its own, the
OpenAPI schema declares the bearer scheme once, the admin-only switches, ``RECOMIND_AUTH=off``
and web sign-in off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from recomind.api.access import Policy, route_rules
from recomind.api.app import create_app
from recomind.config import Settings
from recomind.storage import migrate
from tests.utils.credentials import admin_headers


def _app(tmp_path: Path, **values: Any) -> Any:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        cache_url="memory://",
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
        model_dir="",
        serve_consumers="none",
        jobs_interval_minutes=0,
        environment="test",
        **values,
    )
    return create_app(settings)


def _get(app: Any, *paths: str, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    async def call() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers or {}
        ) as http:
            return [await http.get(p) for p in paths]

    return asyncio.run(call())


def _request(app: Any, method: str, path: str) -> list[httpx.Response]:
    async def call() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as h:
            return [await h.request(method, path)]

    return asyncio.run(call())


def test_every_route_of_the_app_is_in_the_policy_table(tmp_path: Path) -> None:
    """A new route must be given a rule on purpose (the default, admin, is only a backstop)."""
    app = _app(tmp_path)
    listed = {(m, p) for m, p, _ in route_rules(app.state.recomind.settings)}
    missing = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if (method, route.path) not in listed
    ]
    assert missing == []


def test_the_policy_matches_templates_and_falls_back_to_admin() -> None:
    policy = Policy(Settings())
    assert policy.rule("GET", "/recommendations/u1").users == "own"
    assert policy.rule("HEAD", "/recommendations/u1").users == "own"
    assert policy.rule("GET", "/users/u1/profile").user_segment == 2
    assert policy.rule("GET", "/static/js/app.js").scope is None
    assert policy.rule("OPTIONS", "/anything").scope is None
    for method, path in [("GET", "/nowhere"), ("POST", "/nowhere"), ("GET", "/users/u1/x/y")]:
        assert policy.rule(method, path).scope == "admin", path
    # A method a served path has no route for needs no credential: routing answers 405.
    for method, path in [("PUT", "/videos/v1"), ("TRACE", "/healthz"), ("POST", "/users/u1")]:
        assert policy.rule(method, path).scope is None, path


def test_a_method_a_path_lacks_is_405_without_a_credential(tmp_path: Path) -> None:
    app = _app(tmp_path)
    for method, path in [("PUT", "/videos/v1"), ("DELETE", "/healthz"), ("POST", "/users/u1")]:
        (r,) = _request(app, method, path)
        assert r.status_code == 405, (method, path, r.status_code)
        assert r.headers["allow"]
    (r,) = _request(app, "POST", "/nowhere")
    assert r.status_code == 401


def test_openapi_declares_bearer_once_and_open_routes_need_none(tmp_path: Path) -> None:
    (r,) = _get(_app(tmp_path), "/openapi.json", headers=admin_headers())
    schema = r.json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert schema["paths"]["/auth/token"]["post"]["security"] == []
    recs = schema["paths"]["/recommendations/{user_id}"]["get"]
    assert "security" not in recs and {"401", "403"} <= set(recs["responses"])


def test_the_admin_switches_open_operational_routes(tmp_path: Path) -> None:
    app = _app(
        tmp_path,
        admin_metrics=False,
        admin_stats=False,
        admin_docs=False,
        public_reads=True,
    )
    for r in _get(app, "/metrics/", "/api/stats", "/openapi.json", "/docs", "/trending"):
        assert r.status_code == 200, (r.url, r.text)
    (users,) = _get(app, "/users")
    assert users.status_code == 401


@pytest.mark.parametrize("auth", ["off", "required"])
def test_auth_off_checks_nothing(tmp_path: Path, auth: str) -> None:
    app = _app(tmp_path, auth=auth)
    statuses = [r.status_code for r in _get(app, "/users", "/api/stats", "/trending")]
    assert statuses == ([200, 200, 200] if auth == "off" else [401, 401, 401])


def test_web_sign_in_off_has_no_token_endpoint(tmp_path: Path) -> None:
    app = _app(tmp_path, web_sign_in=False)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.post("/auth/token", json={"name": "Sam"})

    r = asyncio.run(call())
    assert r.status_code == 404 and "web sign-in is off" in r.json()["message"]


def test_production_refuses_unsafe_auth_settings() -> None:
    base = {"environment": "production", "database_url": "postgresql://h/db"}
    for bad in ({"auth": "off"}, {"web_sign_in": True}, {"master_key": "short"}):
        with pytest.raises(ValueError):
            Settings(**base, **bad)
    Settings(**base, master_key="k" * 32)
