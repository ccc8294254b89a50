"""The design's example end to end: actions over HTTP, ``train``, feeds over HTTP."""

from __future__ import annotations

from collections import Counter

from recomind.serving.model_ranker import ModelRanker
from tests.jobs.conftest import Served, group_of, load_design, videos_in


def _groups(items: list[dict[str, object]]) -> set[str]:
    return {str(i["tags"][0]) for i in items}  # type: ignore[index]


def test_design_example_after_train(served: Served) -> None:
    load_design(served)
    before = served.feed("A")
    assert before, "the fallback ranker answers before any model exists"
    served.run("train", "precompute")
    ranker = served.state.recommendations.ranker
    assert isinstance(ranker, ModelRanker) and ranker.model() is not None
    r = served.http.get("/recommendations/A", params={"n": 20})
    assert r.status_code == 200 and r.headers["X-Cache"] == "hit"  # precomputed
    items = r.json()
    assert len(items) == 20
    groups = _groups(items[:10])
    assert "funny" in groups and "dance" in groups, items[:10]
    assert all(i["reason"] for i in items)
    liked = {"v0", "v6"}
    assert not liked & {i["video_id"] for i in items}
    # Reasons come from the hybrid ("popular in #funny", "because you liked #meme", ...).
    assert all(i["reason"] != "trending now" for i in items[:10])
    assert any("#funny" in i["reason"] or "#meme" in i["reason"] for i in items[:10])


def test_new_user_first_like_changes_the_feed_at_once(served: Served) -> None:
    load_design(served)
    served.run("train")
    cold = served.feed("stranger")  # what newbie would get: trending
    assert [i["reason"] for i in cold[:3]] == ["trending now"] * 3
    dance = videos_in(1)[7]
    served.act("newbie", dance, "like")  # no settle: the very next request must reflect it
    warm = served.feed("newbie")
    assert dance not in {i["video_id"] for i in warm}
    assert [i["video_id"] for i in warm] != [i["video_id"] for i in cold]
    assert "dance" in _groups(warm[:5])


def test_seen_and_skipped_never_come_back(served: Served) -> None:
    load_design(served)
    served.run("train")
    first = served.feed("A", 30)
    skipped, watched = first[0]["video_id"], first[1]["video_id"]
    served.act("A", skipped, "skip")
    served.act("A", watched, "view", watch_time_ms=30000)
    for _ in range(2):
        ids = {i["video_id"] for i in served.feed("A", 100)}
        assert not {skipped, watched, "v0", "v6"} & ids
        served.settle()
    served.run("train", "precompute")
    ids = {i["video_id"] for i in served.feed("A", 100)}
    assert not {skipped, watched, "v0", "v6"} & ids


def test_diversity_limits_hold_in_the_api_output(served: Served) -> None:
    load_design(served)
    served.run("train", "precompute")
    model = served.state.recommendations.ranker.model()  # type: ignore[attr-defined]
    cap_tag, cap_creator = model.hybrid.max_per_tag, model.hybrid.max_per_creator
    for user in ("A", "o1", "k2"):
        items = served.feed(user, 20)
        assert len(items) == 20
        tags = Counter(t for i in items for t in i["tags"])
        creators = Counter(i["creator_id"] for i in items)
        assert max(tags.values()) <= cap_tag, [(i["video_id"], i["reason"]) for i in items]
        assert max(creators.values()) <= cap_creator, creators
        assert all(group_of(i["video_id"]) == i["tags"] for i in items)
