"""The train job on a deployment's own traffic: the learned ranker is fitted, served, and
gated against the serving model on the newest events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recomind.jobs import JobContext, run_jobs
from recomind.serving.model_store import ModelStore
from tests.jobs.conftest import Served

pytest.importorskip("lightgbm")

TOPICS = 6
VIDEOS = 120
USERS = 40


def _load(served: Served, seed: int = 0) -> list[set[int]]:
    """A catalogue over 6 topics and users who like 2 of them, acting for 5 rounds."""
    rng = np.random.default_rng(seed)
    videos = [
        {
            "video_id": f"v{i}",
            "title": f"Clip {i}",
            "url": f"https://cdn.example/v{i}.mp4",
            "tags": [f"topic{i % TOPICS}"],
            "creator_id": f"c{i % 20}",
            "duration_s": 20,
        }
        for i in range(VIDEOS)
    ]
    assert served.http.post("/videos/batch", json={"videos": videos}).status_code == 201
    liked = [set(rng.choice(TOPICS, 2, replace=False).tolist()) for _ in range(USERS)]
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=5)
    actions = []
    for r in range(5):
        for u in range(USERS):
            for j, v in enumerate(rng.choice(VIDEOS, 8, replace=False).tolist()):
                at = start + timedelta(hours=r, seconds=u * 10 + j)
                body = {"user_id": f"u{u}", "video_id": f"v{v}", "timestamp": at.isoformat() + "Z"}
                if v % TOPICS in liked[u] and rng.random() < 0.8:
                    actions.append({**body, "action_type": "like"})
                elif rng.random() < 0.5:
                    actions.append({**body, "action_type": "skip"})
                else:
                    actions.append({**body, "action_type": "view", "watch_time_ms": 4000})
    r = served.http.post("/video_actions/batch", json={"actions": actions})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == len(actions)
    served.settle(60)
    return liked


def _meta(settings_dir: str) -> dict[str, object]:
    store = ModelStore(settings_dir)
    version = store.latest()
    assert version is not None
    meta: dict[str, object] = json.loads((Path(settings_dir) / version / "meta.json").read_text())
    return meta


def test_train_fits_gates_and_serves_the_learned_ranker(served: Served) -> None:
    liked = _load(served)
    ctx = JobContext(served.settings, served.engine, served.state.recommendations)
    [result] = run_jobs(ctx, ["train"])
    assert result.ok, result.error
    assert result.summary is not None
    assert result.summary["ranker"] is True
    assert result.summary["published"] is True
    meta = _meta(served.settings.model_dir)
    ranker = meta["ranker"]
    assert isinstance(ranker, dict) and "tag:pos" in ranker["features"]
    gate = meta["gate"]
    assert isinstance(gate, dict)
    figures = gate["figures"]
    assert {"challenger", "hybrid", "trending", "model-free"} <= set(figures)
    for name in ("challenger", "hybrid", "trending", "model-free"):
        assert {"ndcg@10", "recall@20", "like_rate@10", "coverage@10"} <= set(figures[name])
    # the learned ranker learns the users' topics: it beats trending on the holdout
    assert figures["challenger"]["like_rate@10"] > figures["trending"]["like_rate@10"]

    served.state.recommendations.ranker.loader.refresh()  # type: ignore[attr-defined]
    version = meta["version"]
    hits = 0
    for u in range(10):
        served.state.recommendations.refresh_user(f"u{u}")
        feed = served.feed(f"u{u}", n=10)
        assert feed
        hits += sum(int(i["tags"][0].removeprefix("topic")) in liked[u] for i in feed)
    assert hits / 100 > 0.5  # two topics of six: a blind feed would hold about a third
    r = served.http.get("/recommendations/u0", params={"n": 10})
    assert r.status_code == 200

    # A second run whose challenger must beat the champion by 1,000%: kept unpublished and
    # journaled as rejected; the champion keeps serving.
    strict = served.settings.model_copy(update={"gate_margin": 10.0})
    ctx2 = JobContext(strict, served.engine, served.state.recommendations)
    [again] = run_jobs(ctx2, ["train"])
    assert again.ok, again.error
    assert again.summary is not None
    assert again.summary["published"] is False
    assert "does not beat" in again.summary["gate"]
    store = ModelStore(served.settings.model_dir)
    assert store.latest() == version
    rejected = again.summary["version"]
    assert rejected != version and rejected in store.versions()
    assert [e["action"] for e in store.journal.entries()] == ["published", "rejected"]
    assert store.journal.of(rejected)[0]["reason"] == again.summary["gate"]
