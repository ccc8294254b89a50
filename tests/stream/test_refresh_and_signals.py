"""Cache refresh policies (TTL, after X interactions, after a like) and retrain signals.

Run on the embedded default (memory cache) and on PostgreSQL + Redis + Kafka.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from recomind.config import Settings
from recomind.storage.tables import retrain_signals
from tests.api.helpers import act, load_catalogue
from tests.conftest import truncate
from tests.utils.stacks import Api, running_api

STACKS = ["embedded", "postgres+redis"]


def _cache_state(api: Api, user: str) -> str:
    return api.http.get(f"/recommendations/{user}", params={"n": 5}).headers["X-Cache"]


def _refreshes() -> float:
    return REGISTRY.get_sample_value("recomind_background_refreshes_total") or 0.0


def _prime(api: Api) -> None:
    load_catalogue(api.http, 25)
    act(api.http, "u1", "v1", "view")
    api.settle()
    assert _cache_state(api, "u1") == "miss"
    assert _cache_state(api, "u1") == "hit"


@pytest.mark.parametrize("stack", STACKS)
def test_refresh_after_x_interactions(stack: str, stack_settings: Callable[..., Settings]) -> None:
    with running_api(stack_settings(stack, refresh_after_interactions=3)) as api:
        truncate(api.engine)
        _prime(api)  # one interaction counted so far
        before = _refreshes()
        act(api.http, "u1", "v2", "view")
        api.settle()
        assert _refreshes() == before  # two: the cached list stays
        assert _cache_state(api, "u1") == "hit"
        act(api.http, "u1", "v3", "view")
        api.settle()
        assert _refreshes() == before + 1  # three: refreshed in the background
        assert _cache_state(api, "u1") == "hit"


@pytest.mark.parametrize("stack", STACKS)
def test_refresh_after_a_like(stack: str, stack_settings: Callable[..., Settings]) -> None:
    with running_api(stack_settings(stack, refresh_after_interactions=0)) as api:
        truncate(api.engine)
        _prime(api)
        before = _refreshes()
        act(api.http, "u1", "v2", "view")
        api.settle()
        assert _refreshes() == before  # a view does not refresh
        act(api.http, "u1", "v3", "like")
        api.settle()
        assert _refreshes() > before
        after = api.http.get("/recommendations/u1", params={"n": 5})
        assert after.headers["X-Cache"] == "hit"  # refreshed ahead of the request
        assert after.json()[0]["tags"] == ["travel"]  # v3's tag leads


@pytest.mark.parametrize("stack", STACKS)
def test_policies_off_stale_list_served_while_refreshing(
    stack: str, stack_settings: Callable[..., Settings]
) -> None:
    settings = stack_settings(
        stack, refresh_after_interactions=0, refresh_on_like=False, recommendations_ttl_s=2
    )
    with running_api(settings) as api:
        truncate(api.engine)
        _prime(api)
        for vid in ("v2", "v3", "v4"):
            act(api.http, "u1", vid, "like")
        api.settle()
        cached = api.http.get("/recommendations/u1", params={"n": 5})
        assert cached.headers["X-Cache"] == "hit"  # not refreshed by the likes...
        assert not {"v2", "v3", "v4"} & {v["video_id"] for v in cached.json()}  # ...minus seen
        time.sleep(2.2)
        stale = api.http.get("/recommendations/u1", params={"n": 5})
        assert stale.headers["X-Cache"] == "stale"  # TTL over: served while it refreshes
        assert [v["video_id"] for v in stale.json()] == [v["video_id"] for v in cached.json()]
        api.settle()
        fresh = api.http.get("/recommendations/u1", params={"n": 5})
        assert fresh.headers["X-Cache"] == "hit"
        assert fresh.json()[0]["tags"] != cached.json()[0]["tags"]  # now with the likes


def test_ttl_without_stale_window_expires_the_list(stack_settings: Callable[..., Settings]) -> None:
    settings = stack_settings(
        "embedded",
        refresh_after_interactions=0,
        recommendations_ttl_s=1,
        recommendations_stale_s=0,
    )
    with running_api(settings) as api:
        truncate(api.engine)
        _prime(api)
        time.sleep(1.2)
        assert _cache_state(api, "u1") == "miss"


def _signals(api: Api, expect: int, timeout_s: float = 20) -> list[tuple[str, int]]:
    deadline = time.monotonic() + timeout_s
    while True:
        with api.engine.connect() as conn:
            rows = conn.execute(select(retrain_signals).order_by(retrain_signals.c.id)).all()
        if len(rows) >= expect or time.monotonic() > deadline:
            assert all(r.consumed_at is None for r in rows)
            return [(r.reason, r.events) for r in rows]
        time.sleep(0.1)


def test_retrain_signal_after_n_events(stack_settings: Callable[..., Settings]) -> None:
    settings = stack_settings("embedded", retrain_after_events=5, retrain_after_minutes=600)
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 10)
        for i in range(4):
            act(api.http, "u1", f"v{i}", "view")
        api.settle()
        assert _signals(api, 1, timeout_s=0.5) == []
        for i in range(4, 9):
            act(api.http, "u1", f"v{i}", "view")
        api.settle()
        assert _signals(api, 1) == [("events", 5)]  # 9 events: one signal, 4 pending


def test_retrain_signal_after_t_minutes(stack_settings: Callable[..., Settings]) -> None:
    settings = stack_settings("embedded", retrain_after_events=1000, retrain_after_minutes=0.01)
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 10)
        act(api.http, "u2", "v1", "like")
        api.settle()
        assert _signals(api, 1) == [("interval", 1)]
