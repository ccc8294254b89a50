"""Helpers for the stream tests: post many actions, compare state with a from-scratch fold."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, select

from recomind.config import Settings
from recomind.folds.profiles import NEGLIGIBLE_WEIGHT
from recomind.folds.rebuild import rebuild, stored_events
from recomind.storage.tables import user_profiles, video_popularity

KINDS = ["view", "view", "like", "skip", "unlike"]


def actions(n: int, *, users: int = 40, videos: int = 25, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body: dict[str, Any] = {
            "user_id": f"u{rng.randrange(users)}",
            "video_id": f"v{rng.randrange(videos)}",
            "action_type": rng.choice(KINDS),
        }
        if body["action_type"] == "view":
            body["watch_time_ms"] = rng.randint(500, 40_000)
        out.append(body)
    return out


def post_all(base_url: str, bodies: list[dict[str, Any]], *, workers: int = 8) -> list[str]:
    """POST every action (concurrently); returns the accepted event ids."""

    def post(chunk: list[dict[str, Any]]) -> list[str]:
        ids = []
        with httpx.Client(base_url=base_url, timeout=30) as http:
            for body in chunk:
                r = http.post("/video_action", json=body)
                assert r.status_code == 202, r.text
                ids.append(r.json()["event_id"])
        return ids

    chunks = [bodies[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        return [eid for ids in pool.map(post, chunks) for eid in ids]


def derived_state(
    engine: Engine,
) -> tuple[dict[str, tuple[float, int]], dict[str, dict[str, float]]]:
    """``video_popularity`` (score decayed to a fixed instant, events) and profile tag weights."""
    with engine.connect() as conn:
        pop = {
            r.video_id: (r.score, r.last_updated, r.n_events)
            for r in conn.execute(select(video_popularity))
        }
        profiles = {r.user_id: dict(r.tag_weights) for r in conn.execute(select(user_profiles))}
    if not pop:
        return {}, profiles
    now = max(last for _, last, _ in pop.values())
    from recomind.folds.popularity import score_at
    from recomind.storage.popularity import PopularityRow

    decayed = {
        vid: (score_at(PopularityRow(vid, s, last, n), now, 6 * 3600.0), n)
        for vid, (s, last, n) in pop.items()
    }
    return decayed, profiles


def assert_matches_from_scratch(engine: Engine, settings: Settings) -> None:
    """The consumers' popularity and profiles equal a fold over the stored rows."""
    streamed_pop, streamed_profiles = derived_state(engine)
    rebuild(engine, settings=settings, events=stored_events(engine))
    fresh_pop, fresh_profiles = derived_state(engine)
    assert set(streamed_pop) == set(fresh_pop)
    for vid, (score, n) in fresh_pop.items():
        s_score, s_n = streamed_pop[vid]
        assert s_n == n, f"{vid}: {s_n} events counted, {n} stored"
        assert abs(s_score - score) <= 1e-6 * max(1.0, abs(score)), vid
    assert set(streamed_profiles) == set(fresh_profiles)
    for user, weights in fresh_profiles.items():
        got = streamed_profiles[user]
        # A tag near the drop cut may be kept in one fold order and dropped in another: compare
        # over both tag sets with a missing tag as 0, allowing the cut on top of the tolerance.
        for tag in set(got) | set(weights):
            w, g = weights.get(tag, 0.0), got.get(tag, 0.0)
            assert abs(g - w) <= 1e-6 * max(1.0, abs(w)) + NEGLIGIBLE_WEIGHT, (user, tag, g, w)
