"""Actions mean what users think, over HTTP on every stack: a repeated like changes nothing,
an unlike takes the like back everywhere, and one account moves a video no more than one
honest viewer. Every call after them still answers 200."""

from __future__ import annotations

import pytest

from recomind.cache import keys
from tests.api.helpers import act, load_catalogue
from tests.stream.helpers import assert_matches_from_scratch
from tests.utils.stacks import Api


def _profile(api: Api, user: str) -> dict[str, float]:
    r = api.http.get(f"/users/{user}/profile")
    assert r.status_code == 200, r.text
    weights: dict[str, float] = r.json()["tag_weights"]
    return weights


def _scores(api: Api) -> dict[str, float]:
    api.state.cache.delete(keys.key(api.settings.cache_prefix, keys.POPULAR_VIDEOS))
    r = api.http.get("/trending", params={"n": 25})
    assert r.status_code == 200, r.text
    return {item["video_id"]: item["score"] for item in r.json()}


def _still_answers(api: Api) -> None:
    for path in ("/trending", "/api/stats", "/recommendations/brand-new-user"):
        assert api.http.get(path).status_code == 200, path


def test_a_repeated_like_changes_nothing_and_unlike_takes_it_back(api: Api) -> None:
    load_catalogue(api.http, 25)  # v1 is #dance
    for _ in range(3):
        act(api.http, "fan", "v1", "like")
    act(api.http, "once", "v1", "like")
    act(api.http, "never", "v2", "unlike")  # nothing to take back
    api.settle()
    fan, once = _profile(api, "fan"), _profile(api, "once")
    assert set(fan) == {"dance"} and fan["dance"] == pytest.approx(once["dance"], rel=1e-3)
    assert _profile(api, "never") == {}
    assert _scores(api)["v1"] == pytest.approx(2 * 4.0, rel=1e-3)  # two users, one like each
    act(api.http, "fan", "v1", "unlike")
    api.settle()
    assert _profile(api, "fan") == {}
    assert api.http.get("/users/fan/profile").json()["top_tags"] == []
    assert _scores(api)["v1"] == pytest.approx(4.0, rel=1e-3)  # only "once" still likes it
    kinds = [a["action_type"] for a in api.http.get("/users/fan/actions").json()]
    assert kinds == ["unlike", "like", "like", "like"]  # the record keeps every action
    _still_answers(api)
    assert_matches_from_scratch(api.engine, api.settings)


def test_one_account_moves_a_video_no_more_than_one_honest_viewer(api: Api) -> None:
    load_catalogue(api.http, 25)  # 30 s videos; v0, v5 and v10 are #funny #meme
    for _ in range(15):
        act(api.http, "bot", "v0", "like")
    for _ in range(15):
        act(api.http, "bot", "v0", "view", watch_time_ms=30_000)
    act(api.http, "honest", "v5", "like")
    act(api.http, "honest", "v5", "view", watch_time_ms=30_000)
    for i in range(15):
        act(api.http, f"fan{i}", "v10", "like")
    api.settle()
    scores = _scores(api)
    assert scores["v5"] == pytest.approx(4.0 + 1.0, rel=1e-3)
    assert scores["v0"] <= scores["v5"] * (1 + 1e-3)  # equal, up to a few ms of decay
    assert scores["v10"] == pytest.approx(15 * 4.0, rel=1e-3)
    assert next(iter(scores)) == "v10"
    _still_answers(api)
    assert_matches_from_scratch(api.engine, api.settings)
