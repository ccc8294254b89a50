"""Access control over HTTP on every stack: no credential -> 401, wrong scope -> 403, a user
token reads and acts only as its own user (cache hits included), a revoked key is refused
within the key cache window, bad tokens are refused, keys are stored hashed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import jwt
import pytest
from sqlalchemy import select

from recomind.api.tokens import mint_token
from recomind.credentials import secret_digest, split_key
from recomind.storage.api_keys import issue_key, revoke_key
from recomind.storage.engine import write_tx
from recomind.storage.tables import api_keys
from tests.api.helpers import act, admin_headers, bearer, load_catalogue
from tests.utils.stacks import Api


@contextmanager
def client(api: Api, headers: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    """A client of ``api`` that sends only ``headers`` (no default credential)."""
    with httpx.Client(base_url=api.base_url, timeout=30, headers=headers or {}) as http:
        yield http


def new_key(api: Api, *scopes: str) -> str:
    with write_tx(api.engine) as conn:
        _, full = issue_key(conn, name="test", scopes=list(scopes))
    return full


def user_token(api: Api, user_id: str, **kwargs: int) -> dict[str, str]:
    return bearer(mint_token(api.settings, user_id, **kwargs))  # type: ignore[arg-type]


def assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthorized"
    assert r.json()["field"] == "header.authorization"


GUARDED = [
    ("POST", "/video_action"),
    ("POST", "/video_actions/batch"),
    ("GET", "/recommendations/u1"),
    ("GET", "/trending"),
    ("GET", "/videos/v1"),
    ("POST", "/videos"),
    ("GET", "/users"),
    ("GET", "/users/u1"),
    ("GET", "/users/u1/profile"),
    ("GET", "/users/u1/actions"),
    ("GET", "/api/stats"),
    ("GET", "/metrics"),
    ("GET", "/models"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]


def test_no_or_a_bad_credential_is_401_and_open_routes_stay_open(api: Api) -> None:
    load_catalogue(api.http)
    api.http.get("/trending")  # cached: the hit path must refuse it too
    with client(api) as anon:
        for method, path in GUARDED:
            assert_401(anon.request(method, path, json={}))
        for path in ("/healthz", "/", "/static/app.css"):
            assert anon.get(path).status_code == 200, path
    for bad in ("rmk_nope_nope", "not-a-token", "Basic abc"):
        with client(
            api, {"Authorization": bad if bad.startswith("Basic") else f"Bearer {bad}"}
        ) as h:
            assert_401(h.get("/trending"))
            assert_401(h.get("/recommendations/u1"))


def test_each_scope_opens_its_routes_and_no_others(api: Api) -> None:
    videos = load_catalogue(api.http)
    ingest, read, admin = new_key(api, "ingest"), new_key(api, "read"), new_key(api, "admin")
    action = {"user_id": "u1", "video_id": videos[0]["video_id"], "action_type": "view"}
    with client(api, bearer(ingest)) as h:
        assert h.post("/video_action", json=action).status_code == 202
        for path in ("/recommendations/u1", "/trending", "/users/u1", "/api/stats"):
            r = h.get(path)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"] == "forbidden"
    api.settle()
    with client(api, bearer(read)) as h:
        for path in ("/recommendations/u1", "/trending", "/users/u1/profile", "/videos/v1"):
            assert h.get(path).status_code == 200, path
        assert h.get("/recommendations/u1").headers["x-cache"] == "hit"  # hits pass too
        assert h.post("/video_action", json=action).status_code == 403
        for path in ("/api/stats", "/metrics", "/users", "/models"):
            assert h.get(path).status_code == 403, path
        video = {"video_id": "x1", "title": "x", "url": "https://x/x.mp4", "tags": ["t"]}
        assert h.post("/videos", json=video).status_code == 403
    with client(api, bearer(admin)) as h:  # admin holds every scope
        assert h.get("/api/stats").status_code == 200
        assert h.get("/metrics/").status_code == 200
        assert h.get("/users").status_code == 200
        assert h.post("/video_action", json=action).status_code == 202


def test_a_user_token_reads_and_acts_only_as_its_own_user(api: Api) -> None:
    videos = load_catalogue(api.http)
    v = videos[0]["video_id"]
    for user in ("alice", "bob"):
        act(api.http, user, v, "view")
    api.settle()
    for user in ("alice", "bob"):  # both lists cached: the next reads are hits
        api.http.get("/recommendations/alice" if user == "alice" else "/recommendations/bob")
        assert api.http.get(f"/recommendations/{user}").headers["x-cache"] == "hit"
    with client(api, user_token(api, "alice")) as alice:
        own = alice.get("/recommendations/alice")
        assert own.status_code == 200 and own.headers["x-cache"] == "hit"
        for path in ("/recommendations/alice?n=3", "/users/alice", "/users/alice/profile"):
            assert alice.get(path).status_code == 200, path
        assert alice.get("/users/alice/actions").status_code == 200
        assert alice.get("/trending").status_code == 200
        assert alice.get(f"/videos/{v}").status_code == 200
        for path in (
            "/recommendations/bob",  # a cached list: refused before the hit path
            "/recommendations/bob?n=5",
            "/users/bob",
            "/users/bob/profile",
            "/users/bob/actions",
        ):
            r = alice.get(path)
            assert r.status_code == 403, (path, r.text)
            assert r.json() == {
                "error": "forbidden",
                "message": "path.user_id: a user token may only read its own user's data",
                "field": "path.user_id",
            }
        mine = {"user_id": "alice", "video_id": v, "action_type": "like"}
        theirs = {**mine, "user_id": "bob"}
        assert alice.post("/video_action", json=mine).status_code == 202
        r = alice.post("/video_action", json=theirs)
        assert r.status_code == 403 and r.json()["field"] == "body.user_id", r.text
        r = alice.post("/video_actions/batch", json={"actions": [mine, theirs]})
        assert r.status_code == 403 and r.json()["field"] == "body.actions.1.user_id", r.text
        assert alice.post("/video_actions/batch", json={"actions": [mine]}).status_code == 202
        for path in ("/users", "/api/stats", "/metrics"):
            assert alice.get(path).status_code == 403, path
        assert alice.post("/videos", json={}).status_code == 403


def test_a_revoked_key_is_refused_within_the_key_cache_window(api: Api) -> None:
    full = new_key(api, "read")
    with client(api, bearer(full)) as h:
        assert h.get("/trending").status_code == 200
        parts = split_key(full)
        assert parts is not None
        with write_tx(api.engine) as conn:
            assert revoke_key(conn, key_id=parts.key_id)
        revoked = time.monotonic()
        while h.get("/trending").status_code == 200:
            assert time.monotonic() - revoked < api.settings.key_cache_s + 1.0
            time.sleep(0.05)
        r = h.get("/trending")
        assert_401(r)
        assert "revoked" in r.json()["message"]


def _token(api: Api, **claims: object) -> str:
    now = int(time.time())
    body = {"sub": "alice", "exp": now + 600, "iss": "recomind", "aud": "recomind", **claims}
    body = {k: v for k, v in body.items() if v is not None}
    assert api.settings.token_secret is not None
    return jwt.encode(body, api.settings.token_secret.get_secret_value(), algorithm="HS256")


def test_expired_forged_and_unsigned_tokens_are_401(embedded_api: Api) -> None:
    api = embedded_api
    secret = "another-secret-0123456789abcdef0123456789abcdef"
    leeway = api.settings.token_leeway_s
    cases = {
        "expired": user_token(api, "alice", ttl_s=1, now=int(time.time() - leeway - 60)),
        "forged": bearer(
            jwt.encode(
                {
                    "sub": "alice",
                    "exp": int(time.time()) + 600,
                    "iss": "recomind",
                    "aud": "recomind",
                },
                secret,
                algorithm="HS256",
            )
        ),
        "alg none": bearer(
            jwt.encode(
                {
                    "sub": "alice",
                    "exp": int(time.time()) + 600,
                    "iss": "recomind",
                    "aud": "recomind",
                },
                None,
                algorithm="none",
            )
        ),
        "no exp": bearer(_token(api, exp=None)),
        "wrong audience": bearer(_token(api, aud="elsewhere")),
        "wrong issuer": bearer(_token(api, iss="elsewhere")),
        "bad sub": bearer(_token(api, sub="a b")),
    }
    for name, headers in cases.items():
        with client(api, headers) as h:
            r = h.get("/recommendations/alice")
            assert r.status_code == 401, (name, r.text)
            assert_401(r)
    with client(api, cases["expired"]) as h:
        assert "expired" in h.get("/trending").json()["message"]
    within = user_token(api, "alice", ttl_s=1, now=int(time.time() - 5))  # inside the leeway
    with client(api, within) as h:
        assert h.get("/recommendations/alice").status_code == 200


def test_keys_are_stored_as_a_digest_only(api: Api) -> None:
    full = new_key(api, "ingest", "read")
    parts = split_key(full)
    assert parts is not None
    with api.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(api_keys))]
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert parts.secret not in stored and full not in stored
    assert rows[0]["secret_sha256"] == secret_digest(parts.secret)
    assert rows[0]["scopes"] == "ingest read"


def test_the_web_sign_in_issues_a_token_for_a_user(embedded_api: Api) -> None:
    api = embedded_api
    with client(api) as anon:
        r = anon.post("/auth/token", json={"name": "Sam"})
        assert r.status_code == 200, r.text
        issued = r.json()
        user = issued["user"]["user_id"]
        assert issued["token_type"] == "bearer"
        assert issued["expires_in"] == api.settings.token_ttl_s
        r = anon.post("/auth/token", json={"user_id": "nobody"})
        assert r.status_code == 404, r.text
    with client(api, bearer(issued["access_token"])) as h:
        assert h.get(f"/users/{user}").json()["name"] == "Sam"
        assert h.get("/users/someone-else").status_code == 403


def test_the_master_key_has_every_scope(api: Api) -> None:
    with client(api, admin_headers()) as h:
        for path in ("/api/stats", "/metrics/", "/users", "/trending", "/openapi.json"):
            assert h.get(path).status_code == 200, path


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_follows_get_and_options_is_open(embedded_api: Api, method: str) -> None:
    with client(embedded_api) as anon:
        r = anon.request(method, "/recommendations/u1")
        assert r.status_code == (401 if method == "HEAD" else 204), r.status_code
        if method == "OPTIONS":  # open, and it tells only the path's methods
            assert "GET" in r.headers["allow"] and r.content == b""


def test_a_wrong_secret_or_an_unknown_key_id_is_401(embedded_api: Api) -> None:
    full = new_key(embedded_api, "read")
    parts = split_key(full)
    assert parts is not None
    other = "y" if parts.secret.endswith("x") else "x"
    wrong_secret = f"rmk_{parts.key_id}_{parts.secret[:-1]}{other}"
    for bad in (wrong_secret, "rmk_0123456789ab_" + parts.secret):
        with client(embedded_api, bearer(bad)) as h:
            r = h.get("/trending")
            assert_401(r)
            assert r.json()["message"] == "header.authorization: unknown API key"
    with client(embedded_api, bearer(full)) as h:
        assert h.get("/trending").status_code == 200
