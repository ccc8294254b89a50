"""Garbage on the topic goes to the DLQ and the consumers carry on; a dead bus means 503."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from sqlalchemy import func, select

from recomind.config import Settings
from recomind.records import Record
from recomind.schemas import ActionEvent, utcnow
from recomind.storage.tables import video_actions
from recomind.stream.factory import open_consumer, open_producer
from recomind.stream.runner import dlq_topic
from tests.api.helpers import counts, load_catalogue
from tests.conftest import truncate
from tests.utils.settle import run_sync
from tests.utils.stacks import running_api

STACKS = ["embedded", "postgres+redis"]


async def _publish(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = open_producer(settings)
    await producer.start()
    for key, value in messages:
        await producer.publish(settings.kafka_topic, key, value)
    await producer.stop()


async def _read_dlq(settings: Settings, expect: int) -> list[Record]:
    consumer = open_consumer(settings, "dlq-reader", dlq_topic(settings.kafka_topic))
    await consumer.start()
    out: list[Record] = []
    for _ in range(60):
        out.extend(await consumer.poll(10, 0.5))
        if len(out) >= expect:
            break
    await consumer.stop()
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_garbage_goes_to_the_dlq_and_consumers_carry_on(
    stack: str, stack_settings: Callable[..., Settings]
) -> None:
    settings = stack_settings(stack)
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 5)
        good = ActionEvent(
            event_id="e-good", user_id="u1", video_id="v1", action_type="like", timestamp=utcnow()
        )
        bad_schema = orjson.dumps({"user_id": "u1", "video_id": "v1", "action_type": "love"})
        run_sync(
            _publish(
                settings,
                [(b"u1", b"\xff not json"), (b"u1", bad_schema), (b"u1", good.to_json())],
            )
        )
        api.settle()
        with api.engine.connect() as conn:
            ids = list(conn.execute(select(video_actions.c.id)).scalars())
        assert ids == ["e-good"]
        assert api.http.get("/users/u1/profile").json()["top_tags"] == ["dance"]
    letters = run_sync(_read_dlq(settings, 2))
    assert len(letters) == 2  # filed once (by the persist group), not once per group
    reasons = sorted(orjson.loads(r.value)["reason"] for r in letters)
    assert "action_type" in reasons[0] or "action_type" in reasons[1]
    assert any("JSON" in r or "json" in r for r in reasons)
    assert all(orjson.loads(r.value)["topic"] == settings.kafka_topic for r in letters)


def test_unreachable_bus_answers_503_and_accepts_nothing(
    stack_settings: Callable[..., Settings],
) -> None:
    settings = stack_settings("postgres+redis", event_bus_url="kafka://127.0.0.1:1")
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 3)
        before = counts(api.engine)
        r = api.http.post(
            "/video_action", json={"user_id": "u1", "video_id": "v1", "action_type": "like"}
        )
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"] == "unavailable"
        # Nothing accepted: no row, and the video is not hidden from the user's feed.
        assert counts(api.engine) == before
        recs = api.http.get("/recommendations/u1", params={"n": 3}).json()
        assert "v1" in [v["video_id"] for v in recs]
    with api.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(video_actions)).scalar_one() == 0
