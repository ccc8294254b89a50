"""A brand-new user's first like turns the next page toward what it says, with no model and
with a trained one: its tags, its creator, what its viewers went on to watch, and still some
exploration. The like is only noted in the cache (no consumer ran): the very next page."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.schemas import RecommendedVideo, VideoCreate, utcnow
from recomind.serving.model_ranker import ModelRanker
from recomind.serving.service import RecommendationService
from recomind.storage.engine import make_engine
from tests.conftest import truncate
from tests.utils.catalogue import folded_settings, store_scene

TOPICS = ["diy", "garden", "cooking", "music", "travel", "pets", "dance", "gaming"]
SEED = "diy-0"  # by "maker", who also posts cooking videos
MAKER = "maker"


def _creator(topic: str, i: int) -> str:
    if topic in ("diy", "cooking") and i < 3:
        return MAKER
    return f"{topic}-c{i % 4}"


@pytest.fixture
def seeded(_migrated_urls: dict[str, str], tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    eng = make_engine(_migrated_urls["sqlite"])
    truncate(eng)
    now = utcnow()
    videos = [
        VideoCreate(
            video_id=f"{t}-{i}",
            title=f"{t.title()} clip {i}",
            url="u",
            tags=[t],
            creator_id=_creator(t, i),
            duration_s=30,
            created_at=now - timedelta(days=3),
        )
        for t in TOPICS
        for i in range(10)
    ]
    actions: list[tuple[str, str, str]] = []
    for u in range(8):  # viewers of the seed went on to like garden videos
        actions.append((f"w{u}", SEED, "view" if u % 2 else "like"))
        actions += [(f"w{u}", f"garden-{i}", "like") for i in range(u % 3, u % 3 + 4)]
    for u in range(12):  # a crowd makes dance and gaming trend
        actions += [(f"p{u}", f"{t}-{i}", "like") for t in ("dance", "gaming") for i in range(6)]
    for u in range(10):  # others with narrow tastes, so the model has structure to learn
        t = TOPICS[2 + u % 6]
        actions += [(f"n{u}", f"{t}-{i}", "like") for i in range(u % 2, u % 2 + 5)]
    store_scene(eng, videos, actions, at=lambda k: now - timedelta(hours=2, seconds=-k))
    settings = folded_settings(eng, _migrated_urls["sqlite"], tmp_path / "models")
    yield eng, settings
    eng.dispose()


def _first_page(service: RecommendationService) -> list[RecommendedVideo]:
    service.note_action("newbie", SEED, "like")
    return service.compute_for_user("newbie")


def _elsewhere(item: RecommendedVideo) -> bool:
    return "diy" not in item.tags and item.creator_id != MAKER


def _check_follows_the_like(items: list[RecommendedVideo]) -> None:
    """Its tags lead the first page; what its viewers went on to watch is on it; its
    creator's videos come before the rest of their topic (diy and cooking)."""
    page = items[:10]
    assert SEED not in {i.video_id for i in items}
    assert sum("diy" in i.tags for i in page) >= 5, [i.video_id for i in page]
    watched = [i for i in items[:20] if "garden" in i.tags]
    assert any(i.reason == "viewers of Diy clip 0 also liked" for i in watched), watched
    for topic in ("diy", "cooking"):
        ranked = [i for i in items if topic in i.tags]
        assert [i.creator_id for i in ranked[:2]] == [MAKER, MAKER], (topic, ranked[:3])


def test_first_like_without_a_model(seeded: tuple[Engine, Settings]) -> None:
    engine, settings = seeded
    service = RecommendationService(engine, SafeCache(open_cache("memory://")), settings)
    items = _first_page(service)
    _check_follows_the_like(items)
    maker = [i for i in items[:20] if i.creator_id == MAKER and "diy" not in i.tags]
    assert maker and maker[0].reason == "more from the creator of Diy clip 0"
    # Exploration: every 5th place (the 5th, 10th, ...) is from elsewhere, and only those
    # among the places the like's follow-ups fill.
    for place in range(4, 20, 5):
        assert _elsewhere(items[place]), (place, items[place])
    page = asyncio.run(service.trending(10)).page
    trending = [i["video_id"] for i in orjson.loads(page)]
    assert items[4].video_id in trending or items[4].reason.startswith("viewers of")
    service.close()


def test_first_like_with_a_trained_model(seeded: tuple[Engine, Settings]) -> None:
    engine, settings = seeded
    [trained] = run_jobs(JobContext(settings, engine), ["train"])
    assert trained.ok, trained.error
    ranker = ModelRanker.from_settings(settings, background=False)
    assert ranker.model() is not None
    service = RecommendationService(engine, SafeCache(open_cache("memory://")), settings, ranker)
    cold = service.compute_for_user("stranger")
    assert sum("diy" in i.tags for i in cold[:10]) <= 1  # trending: dance and gaming lead
    items = _first_page(service)
    _check_follows_the_like(items)  # the creator through the content model's @creator
    assert sum(_elsewhere(i) for i in items[:10]) >= 2  # exploration (and co-watched)
    cooking = next(i for i in items if i.creator_id == MAKER and "cooking" in i.tags)
    assert cooking.reason == "more from the creator of Diy clip 0"
    service.close()
