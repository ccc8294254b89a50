"""A database that does not answer: what the cache holds is still served (marked
``X-RecoMind-Degraded: database`` where the database was needed), every other answer that
needs it is a JSON 503 with ``Retry-After`` (never a plain-text 500), and the outage is
logged once, not per request. The outage is real: a private PostgreSQL cluster stopped and
started again (:mod:`tests.utils.private_postgres`)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from recomind.api.app import create_app
from recomind.config import Settings
from recomind.storage import migrate, outage
from recomind.storage.engine import make_engine
from recomind.storage.outage import DEGRADED_DATABASE, DEGRADED_HEADER
from tests.api.helpers import act, counts, load_catalogue
from tests.utils.credentials import admin_headers
from tests.utils.private_postgres import PrivatePostgres, private_postgres
from tests.utils.services import redis_or_skip
from tests.utils.stacks import Api, make_settings, running_api


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_database_down_is_a_json_503_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    outage.OUTAGE_LOG.reset()
    url = f"postgresql+psycopg://recomind:x@127.0.0.1:{_closed_port()}/recomind"
    app = create_app(Settings(database_url=url, cache_url="memory://"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    action = {"user_id": "u1", "video_id": "v1", "action_type": "like"}

    async def calls() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=admin_headers()
        ) as http:
            out = [await http.get(p) for p in ("/users/u1", "/recommendations/u1") * 3]
            out.append(await http.post("/video_action", json=action))
            return out

    with caplog.at_level(logging.WARNING, logger="recomind.storage.outage"):
        answers = asyncio.run(calls())
    for r in answers:
        assert r.status_code == 503, (r.request.url, r.text)
        assert r.headers["content-type"] == "application/json"
        assert r.headers["retry-after"] == "5"
        assert r.json()["error"] == "database_unavailable"
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 1
    assert not any(r.exc_info for r in caplog.records if r.name == "recomind.storage.outage")


def _ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, (r.request.url, r.status_code, r.text)
    return [item["video_id"] for item in r.json()]


def _failed_batches(group: str) -> float:
    return REGISTRY.get_sample_value("recomind_consumer_failures_total", {"group": group}) or 0.0


@pytest.mark.parametrize("cache_kind", ["memory", "redis"])
def test_an_outage_serves_what_the_cache_holds_and_service_resumes(
    cache_kind: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lists and trending warmed through the API stay served while the database is stopped,
    an action on a video the cache knows is still accepted, anything needing the database is
    a 503; one outage line in all; once the database is back, service is as before.

    In-process, every video card has expired (a local TTL of 0: each page reads the cards
    from the database), so a page renders from the expired ones, marked degraded; with Redis
    the shared cache's cards answer and a cached page is not degraded at all."""
    cache_url = "memory://" if cache_kind == "memory" else redis_or_skip()
    card_ttl = 0.0 if cache_kind == "memory" else 60.0
    with private_postgres() as pg:
        admin = make_engine(pg.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE recomind"))
        admin.dispose()
        url = pg.url_of("recomind")
        migrate.upgrade(url)
        bus = f"sqlite:///{tmp_path / 'bus.db'}"
        settings = make_settings(url, cache_url, bus, tmp_path, video_card_local_ttl_s=card_ttl)
        with running_api(settings) as api:
            _outage_and_back(api, pg, caplog, monkeypatch)


def _outage_and_back(
    api: Api, pg: PrivatePostgres, caplog: pytest.LogCaptureFixture, mp: pytest.MonkeyPatch
) -> None:
    http = api.http
    cards_expire = api.settings.video_card_local_ttl_s == 0
    load_catalogue(http, n=40)
    assert http.post("/users", json={"user_id": "u1", "name": "Una"}).status_code == 201
    for user, video, kind in [("u1", "v0", "like"), ("u1", "v5", "like"), ("u2", "v1", "like")]:
        act(http, user, video, kind)
    api.settle()
    trending = http.get("/trending", params={"n": 10})
    assert trending.headers["x-cache"] == "miss"
    first = http.get("/recommendations/u1", params={"n": 20})
    assert first.headers["x-cache"] in ("miss", "refreshed")
    api.settle()
    warm = http.get("/recommendations/u1", params={"n": 20})
    assert warm.headers["x-cache"] == "hit"
    listed = _ids(warm)
    assert len(listed) == 20 and "v0" not in listed
    viewed, liked = listed[0], listed[1]
    assert viewed not in api.state.known_videos  # only its cached card can vouch for it
    if not api.state.cache.is_local:
        api.state.recommendations.cards.clear_local()  # the shared cache's cards must answer

    mp.setattr(outage, "OUTAGE_LOG_EVERY_S", 3600.0)  # one window for the whole outage
    outage.OUTAGE_LOG.reset()
    persist_failures = _failed_batches("persist")
    with caplog.at_level(logging.WARNING):
        pg.stop()
        again = http.get("/recommendations/u1", params={"n": 20})
        assert again.content == warm.content
        assert again.headers["x-cache"] == "hit"
        # A fresh cached list needs the database only for cards no cache holds.
        assert (again.headers.get(DEGRADED_HEADER) == DEGRADED_DATABASE) is cards_expire
        cached_trending = http.get("/trending", params={"n": 10})
        assert cached_trending.content == trending.content
        assert (DEGRADED_HEADER in cached_trending.headers) is cards_expire

        down = http.get("/users/u1")
        assert down.status_code == 503 and down.headers["retry-after"] == "5"
        assert down.json()["error"] == "database_unavailable"
        unknown = {"user_id": "u1", "video_id": "v-never-seen", "action_type": "view"}
        r = http.post("/video_action", json=unknown)
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable"

        r = act(http, "u1", viewed, "view")
        assert r.headers[DEGRADED_HEADER] == DEGRADED_DATABASE
        assert _ids(http.get("/recommendations/u1", params={"n": 10})) == listed[1:11]

        act(http, "u1", liked, "like")  # drops the list; its refresh cannot run
        fallback = http.get("/recommendations/u1", params={"n": 10})
        assert fallback.headers[DEGRADED_HEADER] == DEGRADED_DATABASE
        assert fallback.headers["x-cache"] == "stale"
        served = _ids(fallback)
        assert served and not {viewed, liked} & set(served)
        assert set(served) <= set(_ids(http.get("/trending", params={"n": 100})))
        newcomer = http.get("/recommendations/u-new", params={"n": 10})
        assert newcomer.headers[DEGRADED_HEADER] == DEGRADED_DATABASE
        assert _ids(newcomer) == _ids(trending)

        deadline = time.monotonic() + 30  # the consumers met the outage too
        while _failed_batches("persist") == persist_failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _failed_batches("persist") > persist_failures
        assert api.state.recommendations.wait_for_refreshes()
    lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"

    pg.start()
    user = http.get("/users/u1")
    assert user.status_code == 200 and user.json()["user_id"] == "u1"
    api.settle()  # the actions accepted during the outage are stored now
    assert counts(api.engine)["video_actions"] == 5
    back = http.get("/recommendations/u1", params={"n": 10})
    assert DEGRADED_HEADER not in back.headers
    assert back.headers["x-cache"] in ("miss", "refreshed")
    assert not {viewed, liked, "v0", "v5"} & set(_ids(back))


def test_the_embedded_default_is_never_marked_degraded(embedded_api: Api) -> None:
    """The embedded default (SQLite, in-process cache) answers as before: no degraded mark on
    a miss, a hit, trending or an action."""
    http = embedded_api.http
    load_catalogue(http, n=10)
    act(http, "u1", "v0", "like")
    embedded_api.settle()
    answers = [
        http.get("/trending"),
        http.get("/recommendations/u1"),
        http.get("/recommendations/u1"),
        act(http, "u1", "v1", "view"),
    ]
    assert [r.headers.get("x-cache") for r in answers[:3]] == ["miss", "miss", "hit"]
    assert not [r for r in answers if DEGRADED_HEADER in r.headers]
