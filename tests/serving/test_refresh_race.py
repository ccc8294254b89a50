"""The list after a taste action, against slow refreshes: on the in-memory cache and Redis.

A ranker that blocks until the test releases it stands in for a slow refresh, so the races
happen in a known order (no sleeps): a refresh computed before a like never stores its list,
and a request waits for the refresh its process runs instead of serving the old list.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest
from sqlalchemy import Connection, Engine

from recomind.cache import Cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.schemas import ACTION_TYPES, RecommendedVideo, VideoCreate, recommended
from recomind.serving import refresher as refresher_module
from recomind.serving.invalidation import TASTE_ACTIONS
from recomind.serving.recent_actions import current_pairs, recent_pairs
from recomind.serving.service import RecommendationService
from recomind.storage.actions import HistoryItem
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.profiles import ProfileRow
from recomind.storage.videos import create_videos, get_videos
from tests.conftest import truncate


@dataclass
class GatedRanker:
    """Ranks by id and records what it saw; blocks while ``gate`` is closed."""

    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    seen: list[set[str]] = field(default_factory=list)

    def source(self) -> str:
        return "gated"

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]:
        self.seen.append({h.video_id for h in history})
        self.entered.set()
        assert self.gate.wait(30), "the test never released the ranker"
        videos = get_videos(conn, video_ids=[f"v{i}" for i in range(10)])
        return [
            recommended(v, 1.0, "trending now")
            for k, v in sorted(videos.items())
            if k not in exclude
        ][:n]


@pytest.fixture
def sqlite_engine(_migrated_urls: dict[str, str]) -> Iterator[Engine]:
    eng = make_engine(_migrated_urls["sqlite"])
    truncate(eng)
    with write_tx(eng) as conn:
        create_videos(
            conn,
            items=[VideoCreate(video_id=f"v{i}", title=f"V{i}", url="u") for i in range(10)],
        )
    yield eng
    eng.dispose()


def _service(
    engine: Engine, cache: Cache, prefix: str, **overrides: float
) -> tuple[RecommendationService, GatedRanker]:
    settings = Settings(cache_prefix=prefix, refresh_after_interactions=0, **overrides)  # type: ignore[arg-type]
    ranker = GatedRanker()
    return RecommendationService(engine, SafeCache(cache), settings, ranker), ranker


def _ids(page: bytes) -> list[str]:
    return [i["video_id"] for i in orjson.loads(page)]


def _read(service: RecommendationService, user_id: str, n: int) -> tuple[bytes, str]:
    """``GET /recommendations`` as the route makes it (a coroutine on an event loop)."""
    served = asyncio.run(service.for_user(user_id, n))
    return served.page, served.cache


def test_a_refresh_computed_before_a_like_never_stores_its_list(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    service, ranker = _service(sqlite_engine, cache, key_prefix)
    service.note_action("u", "v9", "view")  # a history, so the ranker is asked
    service.wait_for_refreshes()  # (a view starts no refresh)
    slow = threading.Thread(target=service.refresh_user, args=("u",))
    slow.start()
    assert ranker.entered.wait(10)  # the slow refresh has read the state before the like
    service.lists.refresh = lambda user: None  # no background refresh: only the slow one
    service.note_action("u", "v0", "like")
    ranker.gate.set()
    slow.join(10)
    assert "v0" not in ranker.seen[0]
    items, how = _read(service, "u", 5)
    assert how == "miss"  # the slow refresh's list was not stored
    assert "v0" in ranker.seen[-1]  # this one counted the like
    assert "v0" not in _ids(items)
    service.close()


def test_the_next_request_waits_for_the_running_refresh(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    service, ranker = _service(sqlite_engine, cache, key_prefix)
    ranker.gate.set()
    service.note_action("u", "v9", "view")
    first, how = _read(service, "u", 5)
    assert how == "miss"
    again, how = _read(service, "u", 5)
    assert how == "hit" and _ids(again) == _ids(first)
    ranker.gate.clear()
    ranker.entered.clear()
    service.note_action("u", _ids(first)[0], "like")  # drops the list, refreshes it
    assert ranker.entered.wait(10)  # that refresh is running
    got: list[str] = []

    def read() -> None:
        items, how = _read(service, "u", 5)
        got.extend([how, *_ids(items)])

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(0.3)
    assert reader.is_alive(), "the request did not wait for the refresh"
    ranker.gate.set()
    reader.join(10)
    assert got[0] == "refreshed"
    assert _ids(first)[0] not in got[1:]  # the liked video is gone, the list is the new one
    assert len(ranker.seen) == 2  # one computation after the like: the request reused it
    service.close()


def test_a_refresh_that_overruns_the_budget_is_not_waited_for(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    service, ranker = _service(sqlite_engine, cache, key_prefix, recommendations_refresh_wait_s=0.2)
    ranker.gate.set()
    service.note_action("u", "v9", "view")
    _read(service, "u", 5)
    ranker.gate.clear()
    ranker.entered.clear()
    service.note_action("u", "v1", "skip")
    assert ranker.entered.wait(10)
    threading.Timer(1.0, ranker.gate.set).start()  # the refresh would take a second
    items, how = _read(service, "u", 5)  # waits 0.2 s, then computes (after the gate)
    assert how == "miss" and "v1" not in _ids(items)
    service.wait_for_refreshes()
    service.close()


def test_views_leave_the_list_servable_and_taste_actions_drop_it(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    service, ranker = _service(sqlite_engine, cache, key_prefix)
    ranker.gate.set()
    service.note_action("u", "v9", "view")
    _read(service, "u", 5)
    service.note_action("u", "v0", "view")
    _, how = _read(service, "u", 5)
    assert how == "hit"  # a view changes no taste: the cached list minus v0
    # Every taste action this deployment knows ("unlike" too, once it is an action type).
    tastes = [a for a in ACTION_TYPES if a in TASTE_ACTIONS]
    assert {"like", "skip"} <= set(tastes)
    for k, action in enumerate(tastes):
        service.wait_for_refreshes()
        service.lists.refresh = lambda user: None  # the request must compute it itself
        service.note_action("u", f"v{2 + k}", action)
        _, how = _read(service, "u", 5)
        assert how == "miss", action
        service.lists.refresh = service.refresh_soon
    service.close()


def test_recent_actions_are_newest_first(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    """The next list follows the *newest* action, so pending actions keep their order."""
    service, _ = _service(sqlite_engine, cache, key_prefix, refresh_on_like=False)
    for video in ("v1", "v5", "v3"):
        service.note_action("u", video, "like")
    service.note_actions([("u", "v2", "view"), ("u", "v0", "skip")])  # one batch, in order
    assert service.recent_actions("u") == [
        ("skip", "v0"),
        ("view", "v2"),
        ("like", "v3"),
        ("like", "v5"),
        ("like", "v1"),
    ]
    service.close()


def test_recent_pairs_order_by_time_and_skip_malformed_members() -> None:
    noted = {"like:ns:v1": 3.0, "view:v2": 1.0, "like:old": 0.5, "junk": 9.0, ":v3": 8.0}
    assert recent_pairs(noted) == [("like", "ns:v1"), ("view", "v2"), ("like", "old")]


def test_the_noted_actions_keep_the_newest_and_each_pair_once(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    """``recent:{user}`` is capped at ``recent_actions_keep`` (older actions are stored by
    then), and an action repeated on a video moves to the front instead of piling up."""
    service, _ = _service(sqlite_engine, cache, key_prefix, refresh_on_like=False)
    service.settings.recent_actions_keep = 5
    service.note_actions([("u", f"v{i}", "view") for i in range(8)])
    service.note_action("u", "v4", "view")  # a repeat: newest now, still once
    assert service.recent_actions("u") == [
        ("view", "v4"),
        ("view", "v7"),
        ("view", "v6"),
        ("view", "v5"),
        ("view", "v3"),
    ]
    service.close()


def test_background_refreshes_are_bounded(
    sqlite_engine: Engine, cache: Cache, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of taste actions queues a bounded amount of work, and none for users who have
    no list (they are not reading); a user left out still gets a list counting their action
    (computed on request)."""
    monkeypatch.setattr(refresher_module, "REFRESH_QUEUE_MAX", 3)
    service, ranker = _service(sqlite_engine, cache, key_prefix)
    service.note_action("silent", "v0", "like")
    assert service.refresher.queued() == 0  # no list to have ready: nothing queued
    ranker.gate.set()
    for u in range(10):
        service.note_action(f"u{u}", "v9", "view")
        _read(service, f"u{u}", 5)  # a list: they read
    ranker.gate.clear()
    for u in range(10):
        service.note_action(f"u{u}", "v0", "like")
    assert service.refresher.queued() == 3  # queued or running, the rest not queued
    ranker.gate.set()
    assert service.wait_for_refreshes()
    items, how = _read(service, "u9", 5)
    assert how == "miss" and "v0" not in _ids(items) and "v0" in ranker.seen[-1]
    service.close()


def test_current_pairs_keep_only_the_newest_like_or_unlike_of_a_video() -> None:
    noted = {"like:v1": 1.0, "unlike:v1": 2.0, "view:v1": 3.0, "like:v2": 4.0, "unlike:v2": 0.5}
    assert current_pairs(noted) == [("like", "v2"), ("view", "v1"), ("unlike", "v1")]


def test_counted_actions_refresh_only_users_who_have_a_list(
    sqlite_engine: Engine, cache: Cache, key_prefix: str
) -> None:
    """Every ``refresh_after_interactions`` actions a reader's list goes stale and is
    refreshed; a user with no cached list (not reading) costs no refresh."""
    service, ranker = _service(sqlite_engine, cache, key_prefix)
    service.settings.refresh_after_interactions = 2
    ranker.gate.set()
    service.note_action("reader", "v9", "view")
    _read(service, "reader", 5)  # a cached list
    ranker.gate.clear()
    service.lists.counted({"reader": 2, "silent": 2})
    assert service.refresher.queued() == 1  # the reader's only
    ranker.gate.set()
    assert service.wait_for_refreshes()
    _, how = _read(service, "reader", 5)
    assert how == "hit"  # refreshed meanwhile: fresh again
    service.close()
