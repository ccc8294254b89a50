"""Fixtures of the contract tests: one running server on the embedded stack, seeded with a
small catalogue whose ids the schema's examples name, and the headers every request sends."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from recomind.config import Settings
from recomind.storage import migrate
from tests.utils.stacks import Api, running_api

#: Ids the OpenAPI schema gives as examples (``recomind.api.responses.EXAMPLE_*``), so the
#: fuzzer's examples and coverage phases hit stored rows, not only unknown ids.
SEED_USERS = ("u1", "u2", "u3")
#: Lines for the end of the run (the fuzz run's figures), printed by pytest_terminal_summary.
SUMMARY: list[str] = []
SEED_VIDEOS = tuple(f"v{i}" for i in range(1, 13))


def auth_headers() -> dict[str, str]:
    """The credentials every fuzzed request carries (the one place to change them)."""
    try:
        helpers = importlib.import_module("tests.api.helpers")
    except ImportError:  # pragma: no cover - the helpers module is part of the suite
        return {}
    admin: Callable[[], dict[str, str]] | None = getattr(helpers, "admin_headers", None)
    return dict(admin()) if admin is not None else {}


def seed(api: Api) -> None:
    """Users, videos and a few actions, so ids in paths sometimes find a row."""
    http, headers = api.http, auth_headers()
    videos: list[dict[str, Any]] = [
        {
            "video_id": v,
            "title": f"Video {v}",
            "url": f"https://cdn.example/{v}.mp4",
            "tags": ["funny", "dance", "pets"][i % 3 : i % 3 + 1],
            "duration_s": 30,
        }
        for i, v in enumerate(SEED_VIDEOS)
    ]
    r = http.post("/videos/batch", json={"videos": videos}, headers=headers)
    assert r.status_code == 201, r.text
    for u in SEED_USERS:
        r = http.post("/users", json={"user_id": u, "name": f"User {u}"}, headers=headers)
        assert r.status_code == 201, r.text
    for k, u in enumerate(SEED_USERS[1:]):
        for v in SEED_VIDEOS[k::3]:
            body = {"user_id": u, "video_id": v, "action_type": "like"}
            r = http.post("/video_action", json=body, headers=headers)
            assert r.status_code == 202, r.text
    api.settle()


@pytest.fixture(scope="session")
def contract_api(
    stack_settings: Callable[..., Settings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The embedded stack (SQLite, in-process cache and log) under uvicorn, seeded once, on
    a database of its own (the API tests' servers empty theirs between tests).

    A generous event rate limit: the fuzzer posts far faster than a person taps.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'recomind.db'}"
    migrate.upgrade(url)
    settings = stack_settings("embedded", database_url=url, event_rate_limit="100000/second")
    with running_api(settings) as api:
        seed(api)
        yield api


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)
