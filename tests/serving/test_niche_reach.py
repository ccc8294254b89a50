"""A niche video stays reachable for its niche however the crowd skips it, with no model and
with a trained one (issue 13: candidates reach the whole catalogue, not only a pool of the
most popular)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.schemas import VideoCreate, utcnow
from recomind.serving.model_ranker import ModelRanker
from recomind.serving.service import RecommendationService
from recomind.storage.engine import make_engine
from tests.conftest import truncate
from tests.utils.catalogue import folded_settings, store_scene

BROAD = ["dance", "gaming", "pets", "travel", "music"]
NICHE = [f"knit-{i}" for i in range(10)]


@pytest.fixture
def skipped_niche(
    _migrated_urls: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Engine, Settings]]:
    eng = make_engine(_migrated_urls["sqlite"])
    truncate(eng)
    now = utcnow()
    videos = [
        VideoCreate(
            video_id=f"{t}-{i}",
            title=f"{t} {i}",
            url="u",
            tags=[t],
            creator_id=f"{t}-c{i % 3}",
            duration_s=30,
            created_at=now - timedelta(days=30),
        )
        for t in BROAD
        for i in range(40)
    ]
    videos += [
        VideoCreate(
            video_id=v,
            title=f"Knitting {v}",
            url="u",
            tags=["knitting"],
            creator_id=f"knit-c{i % 4}",
            duration_s=30,
            created_at=now - timedelta(days=60),  # older than everything: not "new" either
        )
        for i, v in enumerate(NICHE)
    ]
    actions: list[tuple[str, str, str]] = []
    for u in range(40):  # the crowd likes broad topics and skips every knitting video
        t = BROAD[u % len(BROAD)]
        actions += [(f"crowd{u}", f"{t}-{i}", "like") for i in range(u % 4, u % 4 + 12)]
        actions += [(f"crowd{u}", v, "skip") for v in NICHE]
    for u in range(6):  # the niche likes knitting videos 0-5
        actions += [(f"knitter{u}", v, "like") for v in NICHE[:6]]
    store_scene(eng, videos, actions, at=lambda k: now - timedelta(hours=3, seconds=-k))
    settings = folded_settings(eng, _migrated_urls["sqlite"], tmp_path / "models")
    yield eng, settings
    eng.dispose()


def _knitting_on_page(service: RecommendationService) -> list[str]:
    for v in NICHE[:3]:
        service.note_action("newknitter", v, "like")
    page = service.compute_for_user("newknitter")[:10]
    return [i.video_id for i in page if "knitting" in i.tags]


def test_skipped_niche_reachable_without_a_model(skipped_niche: tuple[Engine, Settings]) -> None:
    engine, settings = skipped_niche
    service = RecommendationService(engine, SafeCache(open_cache("memory://")), settings)
    found = _knitting_on_page(service)
    assert len(found) >= 4, found  # of the 7 unseen knitting videos
    service.close()


def test_skipped_niche_reachable_with_a_model(skipped_niche: tuple[Engine, Settings]) -> None:
    engine, settings = skipped_niche
    [trained] = run_jobs(JobContext(settings, engine), ["train"])
    assert trained.ok, trained.error
    ranker = ModelRanker.from_settings(settings, background=False)
    assert ranker.model() is not None
    service = RecommendationService(engine, SafeCache(open_cache("memory://")), settings, ranker)
    found = _knitting_on_page(service)
    assert len(found) >= 4, found
    service.close()
