"""Features from partial aggregates: a small hand-made example with exact numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from recomind.analytics.features import (
    CATALOGUE,
    FEATURES_VERSION,
    PRIOR_STRENGTH,
    TOP_AFFINITIES,
    Partials,
    concat,
    finalise,
    partials,
)

CAT = pa.Table.from_pylist(
    [
        {"video_id": "v1", "tags": ["a", "b"], "creator_id": "c1", "duration_s": 10.0},
        {"video_id": "v2", "tags": ["b"], "creator_id": "c2", "duration_s": 20.0},
        {"video_id": "v3", "tags": [], "creator_id": None, "duration_s": None},
    ],
    schema=CATALOGUE,
)
NOW = datetime(2026, 11, 30, 12)


def _events(rows: list[tuple[str, str, str, str, datetime, int | None]]) -> pa.Table:
    ids, users, videos, kinds, at, watch = zip(*rows, strict=True)
    return pa.table(
        {
            "event_id": list(ids),
            "user_id": list(users),
            "video_id": list(videos),
            "action_type": list(kinds),
            "timestamp": pa.array(list(at), pa.timestamp("us")),
            "watch_time_ms": pa.array(list(watch), pa.int64()),
        }
    )


def _shown(videos: list[str]) -> pa.Table:
    return pa.table({"video_id": pa.array(videos, pa.string())})


def t(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 30, hour, minute)


HOUR_10 = _events(
    [
        ("e1", "u1", "v1", "like", t(10, 5), None),
        ("e2", "u1", "v2", "view", t(10, 6), 10_000),  # half of 20 s
        ("e3", "u2", "v1", "skip", t(10, 7), None),
        ("e3", "u2", "v1", "skip", t(10, 7), None),  # the same event twice: once
        ("e4", "u2", "v2", "view", t(10, 8), 40_000),  # twice its length: 1
        ("e5", "u2", "v3", "view", t(10, 9), 5_000),  # no duration: no watch fraction
    ]
)
HOUR_11 = _events(
    [
        ("e6", "u1", "v1", "view", t(11, 30), 2_500),  # a quarter
        ("e7", "u1", "v1", "unlike", t(11, 31), None),
        ("e8", "u3", "v1", "like", t(11, 40), None),
    ]
)


def _features() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    parts = [
        partials(events=HOUR_10, impressions=_shown(["v1"] * 4 + ["v2"] * 2), catalogue=CAT),
        partials(events=HOUR_11, impressions=_shown(["v1"] * 6), catalogue=CAT),
    ]
    videos, users = finalise(concat(parts), now=NOW)
    return (
        {r["video_id"]: r for r in videos.to_pylist()},
        {r["user_id"]: r for r in users.to_pylist()},
    )


def test_video_counts_and_smoothed_rates() -> None:
    videos, _ = _features()
    assert PRIOR_STRENGTH == 20.0
    v1, v2, v3 = videos["v1"], videos["v2"], videos["v3"]
    # v1: 10 impressions; liked by u1 (then unliked) and u3: 1 like; skipped by u2.
    assert (v1["impressions"], v1["exposures"], v1["likes"], v1["skips"], v1["views"]) == (
        10,
        10,
        1,
        1,
        1,
    )
    # v3 was never logged as shown: its one viewer is its exposure.
    assert (v3["impressions"], v3["exposures"], v3["views"]) == (0, 1, 1)
    # Global rates over 13 exposures: 1 like, 1 skip.
    prior = 1 / 13
    assert v1["global_like_rate"] == pytest.approx(prior)
    assert v1["like_rate"] == pytest.approx((1 + 20 * prior) / (10 + 20))  # 11/130
    assert v1["like_rate"] == pytest.approx(11 / 130)
    assert v1["skip_rate"] == pytest.approx(11 / 130)
    assert v2["like_rate"] == pytest.approx(20 * prior / 22)  # no like: below the prior
    assert v3["skip_rate"] == pytest.approx(20 * prior / 21)
    # Watch fractions, capped at 1; none known for v3.
    assert v1["mean_watch_fraction"] == pytest.approx(0.25)
    assert v2["mean_watch_fraction"] == pytest.approx(0.75)
    assert (v2["watched_views"], v3["watched_views"]) == (2, 0)
    assert v3["mean_watch_fraction"] is None
    assert v1["version"] == FEATURES_VERSION and v1["generated_at"] == NOW


def test_user_affinities_hours_and_recency() -> None:
    _, users = _features()
    u1, u2, u3 = users["u1"], users["u2"], users["u3"]

    def aff(row: dict[str, Any], kind: str) -> dict[str, tuple[Any, int]]:
        items = row[kind]
        return {a["key"]: (pytest.approx(a["score"]), a["actions"]) for a in items}

    # u1: like v1 (+1 a, b, c1), half of v2 (+0.5 b, c2), a quarter of v1 (+0.25 a, b, c1),
    # unlike v1 (-1 a, b, c1).
    assert aff(u1, "tag_affinity") == {"a": (0.25, 3), "b": (0.75, 4)}
    assert aff(u1, "creator_affinity") == {"c1": (0.25, 3), "c2": (0.5, 1)}
    assert [a["key"] for a in u1["tag_affinity"]] == ["b", "a"]  # highest first
    # u2: skip v1 (-1 a, b, c1), all of v2 (+1 b, c2); v3 has neither tags nor creator.
    assert aff(u2, "tag_affinity") == {"a": (-1.0, 1), "b": (0.0, 2)}
    assert aff(u2, "creator_affinity") == {"c1": (-1.0, 1), "c2": (1.0, 1)}
    assert aff(u3, "tag_affinity") == {"a": (1.0, 1), "b": (1.0, 1)}

    assert (u1["events"], u1["likes"], u1["skips"], u1["views"]) == (4, 1, 0, 2)
    assert (u2["events"], u2["skips"], u2["views"]) == (3, 1, 2)  # e3 once
    hours = [0] * 24
    hours[10], hours[11] = 2, 2
    assert u1["active_hours"] == hours
    assert (u1["first_active_at"], u1["last_active_at"]) == (t(10, 5), t(11, 31))
    assert u1["recency_s"] == 29 * 60
    assert u2["recency_s"] == (NOW - t(10, 9)).total_seconds()


def test_partials_hold_sums_not_rates() -> None:
    p = partials(events=HOUR_10, impressions=_shown(["v1"] * 4), catalogue=CAT)
    row = {r["video_id"]: r for r in p.videos.to_pylist()}["v2"]
    assert row["watch_sum"] == pytest.approx(1.5) and row["watch_n"] == 2
    # Merging a partition twice counts it twice: partials are additive.
    videos, _ = finalise(concat([p, p]), now=NOW)
    assert {r["video_id"]: r["views"] for r in videos.to_pylist()}["v2"] == 4


def test_nothing_in_nothing_out() -> None:
    empty = Partials.empty()
    videos, users = finalise(empty, now=NOW)
    assert videos.num_rows == 0 and users.num_rows == 0
    p = partials(events=HOUR_10.slice(0, 0), impressions=_shown([]), catalogue=CAT.slice(0, 0))
    assert p.videos.num_rows == p.users.num_rows == p.tags.num_rows == 0


def test_the_strongest_affinities_are_kept() -> None:
    tags = [f"t{i:02d}" for i in range(TOP_AFFINITIES + 10)]
    cat = pa.Table.from_pylist(
        [
            {"video_id": "liked", "tags": tags[:-1], "creator_id": "c", "duration_s": 10.0},
            {"video_id": "skipped", "tags": tags[-1:], "creator_id": "c", "duration_s": 10.0},
        ],
        schema=CATALOGUE,
    )
    acted = _events(
        [
            ("e1", "u", "liked", "like", t(10, 0), None),
            ("e2", "u", "skipped", "skip", t(10, 1), None),
            ("e3", "u", "skipped", "skip", t(10, 2), None),
        ]
    )
    _, users = finalise(partials(events=acted, impressions=_shown([]), catalogue=cat), now=NOW)
    kept = users.to_pylist()[0]["tag_affinity"]
    assert len(kept) == TOP_AFFINITIES
    # The most negative tag is among the strongest; the rest by name among equals.
    assert kept[-1] == {"key": tags[-1], "score": -2.0, "actions": 2}
    assert [a["key"] for a in kept[:-1]] == tags[: TOP_AFFINITIES - 1]
