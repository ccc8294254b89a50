"""The live path applies the state rules to actions not stored yet: the cache keeps the latest
like/unlike of a video, a like noted twice counts once, and an unlike cancels (in memory and
on Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from recomind.cache.base import Cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.folds.states import pending_actions
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.serving.service import RecommendationService
from recomind.storage.actions import HistoryItem, user_history
from recomind.storage.engine import make_engine, read_tx, write_tx
from recomind.storage.inserts import new_id
from recomind.storage.profiles import get_profile
from recomind.storage.videos import create_videos
from tests.conftest import truncate


@pytest.fixture
def service(
    cache: Cache, key_prefix: str, _migrated_urls: dict[str, str]
) -> Iterator[RecommendationService]:
    engine = make_engine(_migrated_urls["sqlite"])
    truncate(engine)
    settings = Settings(cache_prefix=key_prefix, refresh_on_like=False)
    svc = RecommendationService(engine, SafeCache(cache), settings)
    yield svc
    svc.close()
    engine.dispose()


def _history(*items: tuple[str, str, int]) -> list[HistoryItem]:
    t = utcnow()
    return [HistoryItem(v, kind, t - timedelta(minutes=m), None) for kind, v, m in items]


def test_the_latest_noted_like_or_unlike_of_a_video_wins(service: RecommendationService) -> None:
    for kind in ("like", "like", "unlike"):
        service.note_action("u1", "v1", kind)
    service.note_action("u1", "v2", "view")
    assert service.recent_actions("u1") == [("view", "v2"), ("unlike", "v1")]  # newest first
    service.note_action("u1", "v1", "like")
    assert service.recent_actions("u1") == [("like", "v1"), ("view", "v2")]
    assert service.recently_seen("u1") == {"v1", "v2"}


def test_pending_actions_follow_the_state_rules() -> None:
    liked = _history(("like", "v1", 1))
    undone = _history(("unlike", "v1", 1), ("like", "v1", 2))
    viewed = _history(("view", "v1", 1))
    assert pending_actions(liked, [("like", "v1")]) == []  # noted twice: counts once
    assert pending_actions(liked, [("unlike", "v1")]) == [("unlike", "v1")]
    assert pending_actions(undone, [("like", "v1")]) == [("like", "v1")]
    assert pending_actions(undone, [("unlike", "v1")]) == []
    assert pending_actions([], [("unlike", "v1")]) == []  # nothing to take back
    assert pending_actions([], [("like", "v1")]) == [("like", "v1")]
    assert pending_actions(viewed, [("view", "v1"), ("skip", "v1")]) == [("skip", "v1")]


def _seed(engine: Engine, settings: Settings, *events: tuple[str, str, int]) -> None:
    videos = [
        VideoCreate(video_id=f"v{i}", title=f"V{i}", url="u", tags=tags, duration_s=30)
        for i, tags in enumerate([["dance"], ["diy", "home"], ["cooking"]])
    ]
    with write_tx(engine) as conn:
        create_videos(conn, items=videos)
    t = utcnow() - timedelta(days=2)
    apply_events(
        engine,
        settings=settings,
        events=[
            ActionEvent(
                event_id=new_id(),
                user_id="u1",
                video_id=v,
                action_type=kind,  # type: ignore[arg-type]
                timestamp=t + timedelta(minutes=m),
            )
            for kind, v, m in events
        ],
    )


def _live(service: RecommendationService, user: str) -> tuple[dict[str, float], list[str]]:
    """The profile and history ranking sees for ``user`` (stored plus noted actions)."""
    with read_tx(service.engine) as conn:
        history = user_history(conn, user_id=user)
        profile = get_profile(conn, user_id=user)
        got, folded = service._with_pending(
            conn, user, history, profile, service.recent_actions(user)
        )
    assert folded is not None
    added = [f"{h.action_type}:{h.video_id}" for h in got[: len(got) - len(history)]]
    return {t: w for t, w in folded.tag_weights.items() if abs(w) > 1e-9}, added


def test_a_noted_like_counts_once_and_a_noted_unlike_cancels(
    service: RecommendationService,
) -> None:
    settings = service.settings
    _seed(service.engine, settings, ("like", "v0", 0))  # #dance liked two days ago
    stored, _ = _live(service, "u1")
    # The stored like, noted again (the same event, or a repeat): nothing more.
    service.note_action("u1", "v0", "like")
    assert _live(service, "u1") == (stored, [])
    # A first like of #diy #home, noted twice: its weight once.
    service.note_action("u1", "v1", "like")
    service.note_action("u1", "v1", "like")
    weights, added = _live(service, "u1")
    assert added == ["like:v1"]
    assert weights["diy"] == pytest.approx(stored.get("diy", 0.0) + settings.weight_like / 2)
    # Unliked before any consumer ran: both likes are gone from what ranking sees.
    service.note_action("u1", "v1", "unlike")
    service.note_action("u1", "v0", "unlike")
    weights, added = _live(service, "u1")
    assert sorted(added) == ["unlike:v0"]  # v1's like was never stored: nothing to cancel
    assert weights == {}
