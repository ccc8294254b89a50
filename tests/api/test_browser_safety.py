"""Browser safety and request bounds: CORS preflights from allowed origins only, the security
headers on every kind of response (routes, cache hits, errors, files), HSTS only over TLS, no
server banner, and 413 / 414 / 431 for every route with a body and for oversized heads."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from recomind.config import Settings
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api, running_api

ALLOWED = "https://app.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def _preflight(
    http: httpx.Client, origin: str, path: str = "/recommendations/u1"
) -> httpx.Response:
    return http.options(path, headers={"Origin": origin, **PREFLIGHT})


def test_a_preflight_from_an_allowed_origin_passes_and_others_fail(
    stack_settings: Callable[..., Settings],
) -> None:
    settings = stack_settings("embedded", cors_origins=f"{ALLOWED}, https://admin.example")
    with running_api(settings) as api:
        ok = _preflight(api.http, ALLOWED)
        assert ok.status_code == 200, ok.text
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        allowed_headers = ok.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers
        assert "GET" in ok.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in ok.headers  # bearer tokens, no cookies
        post = api.http.options(
            "/video_action",
            headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
        )
        assert post.status_code == 200 and "POST" in post.headers["access-control-allow-methods"]
        # An actual cross-origin request: the origin is echoed and the limits' header exposed.
        r = api.http.get("/trending", headers={"Origin": ALLOWED})
        assert r.headers["access-control-allow-origin"] == ALLOWED
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()

        bad = _preflight(api.http, "https://evil.example")
        assert bad.status_code == 400
        assert "access-control-allow-origin" not in bad.headers
        r = api.http.get("/trending", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_by_default_no_origin_is_allowed_and_same_origin_works(embedded_api: Api) -> None:
    bad = _preflight(embedded_api.http, "https://app.example")
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    same = embedded_api.http.get("/trending", headers={"Origin": embedded_api.base_url})
    assert same.status_code == 200  # the web app's own requests are untouched


def _assert_safe(r: httpx.Response) -> None:
    h = r.headers
    csp = h["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "server" not in h  # no uvicorn banner
    assert "strict-transport-security" not in h  # plain http


def test_security_headers_are_on_every_kind_of_response(embedded_api: Api) -> None:
    api = embedded_api
    videos = load_catalogue(api.http, 5)
    act(api.http, "u1", videos[0]["video_id"], "view")
    route = api.http.get(f"/videos/{videos[0]['video_id']}")
    assert route.status_code == 200
    api.http.get("/recommendations/u1")
    hit = api.http.get("/recommendations/u1")
    assert hit.headers["x-cache"] == "hit"
    missing = api.http.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    static = api.http.get("/static/app.css")
    assert static.status_code == 200 and "text/css" in static.headers["content-type"]
    index = api.http.get("/")
    invalid = api.http.post("/video_action", json={"user_id": "u1"})
    assert invalid.status_code == 422
    for r in (route, hit, missing, static, index, invalid):
        _assert_safe(r)
    docs = api.http.get("/docs")  # Swagger UI: its inline bootstrap and CDN files are allowed
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


def test_hsts_only_over_tls(stack_settings: Callable[..., Settings]) -> None:
    proto = {"X-Forwarded-Proto": "https"}
    with running_api(stack_settings("embedded")) as api:
        assert "strict-transport-security" not in api.http.get("/healthz", headers=proto).headers
    with running_api(stack_settings("embedded", trusted_proxies="127.0.0.1")) as api:
        r = api.http.get("/healthz", headers=proto)
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in api.http.get("/healthz").headers
    with running_api(stack_settings("embedded", hsts="always")) as api:
        assert "strict-transport-security" in api.http.get("/healthz").headers


BOUNDS = {
    "max_body_bytes": 2048,
    "action_max_body_bytes": 1536,
    "videos_batch_max_body_bytes": 4096,
    "actions_batch_max_body_bytes": 3072,
}


def _bound(settings: Settings, path: str) -> int:
    return {
        "/video_action": settings.action_max_body_bytes,
        "/videos/batch": settings.videos_batch_max_body_bytes,
        "/video_actions/batch": settings.actions_batch_max_body_bytes,
    }.get(path, settings.max_body_bytes)


def test_every_route_with_a_body_is_bounded_with_and_without_content_length(
    stack_settings: Callable[..., Settings],
) -> None:
    settings = stack_settings("embedded", **BOUNDS)
    with running_api(settings) as api:
        assert api.app is not None
        schema = api.http.get("/openapi.json").json()
        writes = sorted(  # every operation that takes a body, path parameters filled in
            (method.upper(), re.sub(r"{[^}]+}", "x1", path))
            for path, operations in schema["paths"].items()
            for method, operation in operations.items()
            if "requestBody" in operation
        )
        assert ("POST", "/video_action") in writes and len(writes) >= 5
        for method, path in writes:
            limit = _bound(settings, path)
            body = b'{"pad": "' + b"x" * limit + b'"}'
            json = {"content-type": "application/json"}
            sized = api.http.request(method, path, content=body, headers=json)
            chunked = api.http.request(method, path, content=iter([body[:100], body[100:]]),
                                       headers=json)  # fmt: skip
            assert "content-length" not in chunked.request.headers
            for r in (sized, chunked):
                assert r.status_code == 413, (method, path, r.text)
                err = r.json()
                assert err["error"] == "payload_too_large" and str(limit) in err["message"]
            fits = api.http.request(method, path, content=b"{}", headers=json)
            assert fits.status_code != 413, (method, path)


def test_oversized_urls_and_headers_are_refused(embedded_api: Api) -> None:
    settings = embedded_api.settings
    long_url = embedded_api.http.get("/videos/v1", params={"q": "x" * settings.max_url_bytes})
    assert long_url.status_code == 414 and long_url.json()["error"] == "uri_too_long"
    big = {f"x-pad-{i}": "y" * 1000 for i in range(settings.max_header_bytes // 1000 + 1)}
    r = embedded_api.http.get("/healthz", headers=big)
    assert r.status_code == 431 and r.json()["error"] == "headers_too_large"
    _assert_safe(r)
    assert embedded_api.http.get("/healthz", headers={"x-pad": "y" * 4000}).status_code == 200


def test_an_unhandled_error_is_a_json_500_with_the_headers(
    stack_settings: Callable[..., Settings],
) -> None:
    """Starlette's error middleware sits outside every added middleware; the headers layer
    answers the 500 itself."""
    settings = stack_settings("embedded")
    with running_api(settings) as api:
        assert api.app is not None

        @api.app.get("/boom-for-test")
        def boom() -> None:
            raise RuntimeError("boom")

        r = api.http.get("/boom-for-test")
        assert r.status_code == 500 and r.json()["error"] == "internal_error"
        _assert_safe(r)
