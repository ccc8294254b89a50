"""A database that does not answer: every endpoint that needs it answers a JSON 503 with
``Retry-After`` (never a plain-text 500), and the outage is logged once, not per request."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from recomind.api import errors
from recomind.api.app import create_app
from recomind.config import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_database_down_is_a_json_503_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "_last_outage_log", [-1e18])
    url = f"postgresql+psycopg://recomind:x@127.0.0.1:{_closed_port()}/recomind"
    app = create_app(Settings(database_url=url, cache_url="memory://"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    action = {"user_id": "u1", "video_id": "v1", "action_type": "like"}

    async def calls() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            out = [await http.get(p) for p in ("/users/u1", "/recommendations/u1") * 3]
            out.append(await http.post("/video_action", json=action))
            return out

    with caplog.at_level(logging.WARNING, logger="recomind.api.errors"):
        answers = asyncio.run(calls())
    for r in answers:
        assert r.status_code == 503, (r.request.url, r.text)
        assert r.headers["content-type"] == "application/json"
        assert r.headers["retry-after"] == "5"
        assert r.json()["error"] == "database_unavailable"
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 1
    assert not any(r.exc_info for r in caplog.records if r.name == "recomind.api.errors")
