"""The embedded default and PostgreSQL + Redis answer one scenario identically."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recomind.config import Settings
from recomind.storage.engine import make_engine
from tests.api.helpers import load_catalogue
from tests.conftest import truncate
from tests.utils.stacks import Api, running_api


def _scenario(api: Api) -> list[Any]:
    """A fixed script of calls; returns every response minus server-made ids, times and
    time-decayed scores (the order they produce is compared)."""
    http = api.http
    out: list[Any] = []
    load_catalogue(http, 30)
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("post", "/users", {"user_id": "alice", "name": "Alice"}),
        ("post", "/users", {"user_id": "alice", "name": "Alice"}),
        ("post", "/video_action", {"user_id": "alice", "video_id": "v2", "action_type": "like"}),
        ("post", "/video_action", {"user_id": "bob", "video_id": "v2", "action_type": "like"}),
        # A like refreshes bob's list in the background; a skip does not. Without this
        # settle, whether that refresh already sees the skip is a race (the list differs).
        ("settle", "", None),
        ("post", "/video_action", {"user_id": "bob", "video_id": "v5", "action_type": "skip"}),
        (
            "post",
            "/video_action",
            {"user_id": "carol", "video_id": "v9", "action_type": "view", "watch_time_ms": 15000},
        ),
        ("post", "/video_action", {"user_id": "alice", "video_id": "v404", "action_type": "like"}),
        ("post", "/video_action", {"user_id": "alice", "video_id": "v3", "action_type": "love"}),
        ("settle", "", None),
        ("get", "/trending?n=10", None),
        ("get", "/trending?n=10", None),
        ("get", "/recommendations/alice?n=15", None),
        ("get", "/recommendations/alice?n=15", None),
        ("get", "/recommendations/bob?n=15", None),
        ("get", "/recommendations/nobody?n=3", None),
        ("get", "/recommendations/nobody?n=0", None),
        ("get", "/users/alice/profile", None),
        ("get", "/videos/v2", None),
    ]
    for method, path, body in steps:
        if method == "settle":
            api.settle()
            continue
        r = http.post(path, json=body) if method == "post" else http.get(path)
        data = r.json()
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                for volatile in ("event_id", "created_at", "updated_at", "score"):
                    item.pop(volatile, None)
        out.append((path, r.status_code, r.headers.get("X-Cache"), data))
    return out


def test_embedded_and_postgres_redis_behave_identically(
    stack_settings: Callable[[str], Settings],
) -> None:
    results = {}
    for name in ("embedded", "postgres+redis"):
        settings = stack_settings(name)
        eng = make_engine(settings.database_url)
        truncate(eng)
        eng.dispose()
        with running_api(settings) as api:
            results[name] = _scenario(api)
    embedded, server = results["embedded"], results["postgres+redis"]
    assert len(embedded) == 17
    for a, b in zip(embedded, server, strict=True):
        assert a == b, f"{a[0]} differs"
