"""after_action: a ranked list made to follow the user's newest taste action (no database)."""

from __future__ import annotations

from datetime import datetime

from recomind.config import Settings
from recomind.schemas import RecommendedVideo, Video, recommended
from recomind.serving.follow import LEAD, PAGE, FollowUp, after_action
from recomind.serving.taste import explore, recent_taste
from recomind.storage.actions import HistoryItem

SETTINGS = Settings()
T0 = datetime(2026, 1, 1)


def _video(vid: str, tag: str, creator: str) -> Video:
    return Video(
        video_id=vid, title=vid.upper(), url="u", tags=[tag], creator_id=creator, created_at=T0
    )


VIDEOS = {
    v.video_id: v
    for v in [
        *(_video(f"a{i}", "art", f"ca{i}") for i in range(20)),
        *(_video(f"b{i}", "bikes", f"cb{i}") for i in range(20)),
        _video("d0", "diy", "maker"),
        _video("d1", "diy", "other"),
        _video("m1", "music", "maker"),
        _video("w1", "wood", "w"),
    ]
}


def _items(ids: list[str]) -> list[RecommendedVideo]:
    return [recommended(VIDEOS[i], 1.0 - k / 100, "trending now") for k, i in enumerate(ids)]


def _after(
    history: list[tuple[str, str]], ids: list[str], follow: FollowUp | None = None
) -> list[RecommendedVideo]:
    rows = [HistoryItem(v, a, T0, None) for v, a in history]  # newest first
    taste = recent_taste(rows, VIDEOS, settings=SETTINGS)
    return after_action(
        _items(ids),
        newest=rows[0],
        videos=VIDEOS,
        taste=taste,
        follow=follow or FollowUp({}, {}, None),
        pop={},
        settings=SETTINGS,
    )


def test_a_like_leads_with_what_follows_it() -> None:
    long_taste = [(f"a{i}", "like") for i in range(10, 20)]  # a long streak of #art before
    ids = [f"a{i}" for i in range(8)] + ["b0", "b1", "d1", "m1"]
    got = _after([("d0", "like"), *long_taste], ids)
    # d1 (same tag) and m1 (same creator) move to the head; the rest keeps its order
    assert [i.video_id for i in got] == ["d1", "m1", *[f"a{i}" for i in range(8)], "b0", "b1"]
    assert got[0].reason == "trending now"  # items keep their own reasons


def test_a_like_brings_in_follow_ups_the_list_lacks() -> None:
    seed = VIDEOS["d0"]
    follow = FollowUp({"d1": VIDEOS["d1"], "w1": VIDEOS["w1"]}, {"w1": 5}, seed)
    got = _after([("d0", "like")], [f"a{i}" for i in range(12)], follow)
    assert len(got) == 12
    assert [i.video_id for i in got[:2]] == ["d1", "w1"]  # same tag first, then watched next
    assert got[0].reason == "because you liked #diy"
    assert got[1].reason == "viewers of D0 also liked"
    assert [i.video_id for i in got[2:]] == [f"a{i}" for i in range(10)]


def test_a_skip_keeps_its_tag_off_the_first_page() -> None:
    ids = ["b0", "a0", "b1", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"]
    got = [i.video_id for i in _after([("b5", "skip"), ("a19", "like")], ids)]
    assert not {"b0", "b1"} & set(got[:PAGE])
    assert got[PAGE : PAGE + 2] == ["b0", "b1"] and len(got) == len(ids)
    # a tag the user still likes overall is not pushed away by one skip
    liked_bikes = [("b5", "skip"), ("b6", "like"), ("b7", "like")]
    assert [i.video_id for i in _after(liked_bikes, ids)] == ids


def test_views_leave_the_list_alone() -> None:
    ids = [f"a{i}" for i in range(12)]
    assert [i.video_id for i in _after([("d0", "view")], ids)] == ids


def test_exploration_keeps_the_lead() -> None:
    ids = [f"a{i}" for i in range(8)] + ["d1", "m1", "b0"]
    led = _after([("d0", "like"), ("a19", "like")], ids)
    got = explore(led, [], every=5, is_elsewhere=lambda i: "bikes" in i.tags)
    assert [i.video_id for i in got[:LEAD]] == ["d1", "m1", "a0"]
    assert got[4].video_id == "b0"  # the 5th place: from elsewhere
