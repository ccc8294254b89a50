"""``HEAD``, ``OPTIONS`` and ``Allow`` (:mod:`recomind.api.methods`) over HTTP."""

from __future__ import annotations

from tests.contract.conftest import auth_headers
from tests.utils.stacks import Api


def test_options_lists_every_method_of_the_path(contract_api: Api) -> None:
    """The issue's case: ``OPTIONS /users`` said ``Allow: POST`` (GET /users exists too)."""
    http, headers = contract_api.http, auth_headers()
    expected = {
        "/users": "GET, HEAD, POST, OPTIONS",
        "/users/u2": "GET, HEAD, OPTIONS",
        "/videos": "POST, OPTIONS",
        "/videos/batch": "POST, OPTIONS",  # concrete before /videos/{video_id}
        "/videos/v1": "GET, HEAD, OPTIONS",
        "/trending": "GET, HEAD, OPTIONS",
        "/video_action": "POST, OPTIONS",
    }
    for path, allow in expected.items():
        r = http.options(path, headers=headers)
        assert (r.status_code, r.headers.get("allow"), r.content) == (204, allow, b""), path


def test_a_method_the_path_lacks_is_405_with_the_true_allow(contract_api: Api) -> None:
    http, headers = contract_api.http, auth_headers()
    for method, path, allow in [
        ("PUT", "/users", "GET, HEAD, POST, OPTIONS"),
        ("DELETE", "/users", "GET, HEAD, POST, OPTIONS"),
        ("GET", "/videos/batch", "POST, OPTIONS"),  # not a read of a video called "batch"
        ("POST", "/trending", "GET, HEAD, OPTIONS"),
    ]:
        r = http.request(method, path, headers=headers)
        assert r.status_code == 405, (method, path, r.text)
        assert r.headers["allow"] == allow, (method, path)
        assert r.json()["error"] == "method_not_allowed"


def test_head_sends_the_get_headers_without_a_body(contract_api: Api) -> None:
    http, headers = contract_api.http, auth_headers()
    for path in ["/videos/v1", "/users/u2", "/trending", "/trending", "/recommendations/u2"]:
        got, head = http.get(path, headers=headers), http.head(path, headers=headers)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert int(head.headers["content-length"]) == len(got.content), path
    missing = http.head("/users/nobody-here", headers=headers)
    assert (missing.status_code, missing.content) == (404, b"")
    assert http.head("/video_action", headers=headers).status_code == 405


def test_a_cors_preflight_is_left_to_the_cors_layer(contract_api: Api) -> None:
    """An ``OPTIONS`` with ``Access-Control-Request-Method`` is not answered here (the CORS
    middleware outside answers it where CORS is configured)."""
    r = contract_api.http.options(
        "/users",
        headers={
            **auth_headers(),
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert r.status_code != 204
