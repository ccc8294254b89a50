"""Rows written before event times were checked (or slipped in since) break no endpoint.

The state the issue's 2099 action left behind, written straight into the tables: a
``video_popularity`` row dated 2099 with an overflowing score, a profile dated 2099 with
non-finite and non-numeric tag weights, and an action stored in 2099. Every endpoint that
reads them answers 200 with finite numbers, ``/readyz`` says ok (and it is), and the next
actions still count: the profile is not frozen in 2099 and the video's popularity moves.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text, update

from recomind.storage.tables import user_profiles, video_actions, video_popularity
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api

FUTURE = datetime(2099, 1, 1)


def _strict_json(body: str) -> Any:
    """JSON without NaN/Infinity tokens (which JSON does not have)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"non-finite number {token} in a response")

    return json.loads(body, parse_constant=refuse)


def _poison(api: Api) -> None:
    dialect = api.engine.dialect.name
    # MariaDB cannot store inf or NaN in a DOUBLE: its worst is a huge finite score.
    score = 1e308 if dialect == "mysql" else math.inf
    weights = '{"funny": 1e999, "meme": "lots", "dance": 2.5, "pets": null}'
    if dialect == "sqlite":
        weights = '{"funny": NaN, "meme": "lots", "dance": 2.5, "travel": Infinity}'
    cast = "CAST(:w AS json)" if dialect == "postgresql" else ":w"
    with api.engine.begin() as conn:
        conn.execute(
            update(video_popularity)
            .where(video_popularity.c.video_id == "v1")
            .values(score=score, last_updated=FUTURE)
        )
        if dialect == "postgresql":  # only PostgreSQL keeps a NaN
            conn.execute(
                update(video_popularity)
                .where(video_popularity.c.video_id == "v2")
                .values(score=math.nan)
            )
        conn.execute(
            update(user_profiles)
            .where(user_profiles.c.user_id == "p1")
            # A number among the top tags, where the column is JSON (PostgreSQL's TEXT[] can't).
            .values(top_tags=["funny"] if dialect == "postgresql" else ["funny", 7])
            .values(updated_at=FUTURE)
        )
        conn.execute(text(f"UPDATE user_profiles SET tag_weights = {cast} WHERE user_id = 'p1'"), {"w": weights})  # fmt: skip  # noqa: E501
        conn.execute(
            insert(video_actions).values(
                id="poisoned-1", user_id="p1", video_id="v3", action_type="like", timestamp=FUTURE
            )
        )


def _forget_cached(api: Api) -> None:
    api.state.cache.backend.delete_prefix(api.settings.cache_prefix)
    api.state.recommendations.reset_local_state()


def _all_answer(api: Api) -> dict[str, Any]:
    out = {}
    for path in (
        "/trending",
        "/recommendations/someone-new",
        "/recommendations/p1",
        "/users/p1/profile",
        "/users/p1/actions",
        "/api/stats",
    ):
        r = api.http.get(path)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
        out[path] = _strict_json(r.text)
    ready = api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    return out


def test_poisoned_rows_break_no_endpoint_and_do_not_freeze_scores(api: Api) -> None:
    load_catalogue(api.http, 10)  # v1, v6: funny/meme; v2, v7: dance; v4, v9: pets
    for user in ("a", "b", "c"):
        act(api.http, user, "v1", "view")
        act(api.http, user, "v2", "view")
    act(api.http, "p1", "v0", "view")
    api.settle()
    _poison(api)
    _forget_cached(api)

    first = _all_answer(api)
    profile = first["/users/p1/profile"]
    assert profile["tag_weights"] == {"dance": 2.5}  # the rest was not a finite number
    assert profile["updated_at"].endswith("Z")
    trending = first["/trending"]
    assert all(math.isfinite(v["score"]) for v in trending)
    assert "v2" not in {v["video_id"] for v in trending if v["reason"] == "trending now"} or (
        api.engine.dialect.name != "postgresql"
    )  # a NaN score counts as 0: not trending

    # The next actions count: the 2099 profile is read as of now, not decayed to nothing.
    act(api.http, "p1", "v4", "like")
    act(api.http, "d", "v1", "like")
    api.settle()
    _forget_cached(api)
    second = _all_answer(api)
    weights = second["/users/p1/profile"]["tag_weights"]
    assert weights.get("pets", 0) > 1.0, weights  # a like's weight, not 4 * 2 ** -(73 years)
    assert weights["dance"] == 2.5  # as before: the like came after it, nothing decayed it
