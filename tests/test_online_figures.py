"""Online figures: each action counts for the newest impression before it, within the window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from recomind.analytics.online import online_figures

T = datetime(2026, 11, 30, 10)


def _impressions(rows: list[tuple[datetime, str, int, str, str]]) -> pa.Table:
    served, requests, positions, videos, sources = zip(*rows, strict=True)
    n = len(rows)
    return pa.table(
        {
            "served_at": list(served),
            "request_id": list(requests),
            "user_id": ["u"] * n,
            "position": list(positions),
            "video_id": list(videos),
            "source": list(sources),
        }
    )


def _events(rows: list[tuple[datetime, str, str, int | None]]) -> pa.Table:
    at, videos, kinds, watch = zip(*rows, strict=True)
    return pa.table(
        {
            "timestamp": list(at),
            "user_id": ["u"] * len(rows),
            "video_id": list(videos),
            "action_type": list(kinds),
            "watch_time_ms": pa.array(list(watch), pa.int64()),
        }
    )


DURATIONS = pa.table({"video_id": ["v1", "v2"], "duration_s": [30.0, 20.0]})


def test_actions_join_the_newest_impression_before_them() -> None:
    shown = _impressions(
        [
            (T, "r1", 0, "v1", "model:1"),
            (T, "r1", 1, "v2", "model:1"),
            (T + timedelta(hours=1), "r2", 0, "v1", "tag-affinity"),
        ]
    )
    acted = _events(
        [
            (T + timedelta(minutes=5), "v1", "view", 15_000),  # r1: half of 30 s
            (T + timedelta(minutes=6), "v2", "skip", None),  # r1
            (T + timedelta(minutes=7), "v2", "skip", None),  # r1 again: one skipped impression
            (T + timedelta(hours=1, minutes=5), "v1", "like", None),  # r2, the newest
            (T + timedelta(days=3), "v2", "like", None),  # past the window: nobody's
            (T - timedelta(minutes=1), "v1", "like", None),  # before any impression
        ]
    )
    figures = {f.source: f for f in online_figures(shown, acted, DURATIONS, window_s=86_400)}
    model, fallback = figures["model:1"], figures["tag-affinity"]
    assert (model.impressions, model.likes, model.skips) == (2, 0, 1)
    assert model.skip_rate == 0.5 and model.mean_watch_fraction == pytest.approx(0.5)
    assert (fallback.impressions, fallback.likes, fallback.like_rate) == (1, 1, 1.0)
    assert fallback.mean_watch_fraction is None


def test_loops_count_as_whole_views_and_no_impressions_no_figures() -> None:
    shown = _impressions([(T, "r1", 0, "v2", "trending")])
    acted = _events([(T + timedelta(minutes=1), "v2", "view", 100_000)])  # 5 loops
    [f] = online_figures(shown, acted, DURATIONS, window_s=3600)
    assert f.mean_watch_fraction == 1.0 and f.watched == 1
    assert online_figures(shown.slice(0, 0), acted, DURATIONS, window_s=3600) == []
