"""Every reason on every page names something the user did or the item has.

A scenario of several users (likes, skips, views; a brand-new user) is read page after page
without a model, with a trained model, and from the precomputed lists. Each reason is
checked on its own terms against the item's tags and creator, the user's actions so far and
the stored popularity:

* ``because you liked #t``: the item has ``t`` and the user liked or watched a ``t`` video;
* ``viewers of T also liked`` / ``because you watched T``: the user liked or watched ``T``;
* ``more from the creator of T``: the user liked or watched ``T``, of the item's creator;
* ``popular in #t``: the item has ``t`` and a positive popularity; ``trending now``: the
  item has a positive popularity;
* ``new upload in #t`` / ``something different: #t``: the item has ``t``;
* ``new upload``; ``picked for you`` only for an item without tags.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from recomind.storage.tables import video_popularity
from tests.jobs.conftest import GROUPS, N_VIDEOS, Served, load_design, videos_in

CATALOGUE = {
    f"v{i}": {
        "title": f"Video {i} #{GROUPS[i % len(GROUPS)][0]}",
        "tags": GROUPS[i % len(GROUPS)],
        "creator_id": f"c{i % 15}",
    }
    for i in range(N_VIDEOS)
}


def _popular(served: Served) -> set[str]:
    with served.engine.connect() as conn:
        rows = conn.execute(select(video_popularity.c.video_id, video_popularity.c.score))
        return {vid for vid, score in rows if score > 0}


def reason_error(item: dict[str, Any], did: list[tuple[str, str]], popular: set[str]) -> str:
    """Why ``item``'s reason is not true ('' when it is)."""
    reason, tags, vid = item["reason"], item["tags"], item["video_id"]
    skipped = {v for v, a in did if a == "skip"}
    liked = [CATALOGUE[v] for v, a in did if a in ("like", "view") and v not in skipped]
    assert CATALOGUE[vid]["tags"] == tags, "the item's own tags"
    ok: bool
    if reason.startswith("because you liked #"):
        t = reason.removeprefix("because you liked #")
        ok = t in tags and any(t in v["tags"] for v in liked)
    elif reason.startswith("viewers of ") and reason.endswith(" also liked"):
        ok = reason[len("viewers of ") : -len(" also liked")] in {v["title"] for v in liked}
    elif reason.startswith("because you watched "):
        ok = reason.removeprefix("because you watched ") in {v["title"] for v in liked}
    elif reason.startswith("more from the creator of "):
        title = reason.removeprefix("more from the creator of ")
        ok = any(v["title"] == title and v["creator_id"] == item["creator_id"] for v in liked)
    elif reason.startswith("popular in #"):
        ok = reason.removeprefix("popular in #") in tags and vid in popular
    elif reason == "trending now":
        ok = vid in popular
    elif reason.startswith(("new upload in #", "something different: #")):
        ok = reason.split("#", 1)[1] in tags
    elif reason == "picked for you":
        ok = not tags
    else:
        ok = reason == "new upload"
    return "" if ok else f"{vid} {tags} {item['creator_id']}: {reason!r}"


def _check_pages(served: Served, actions: dict[str, list[tuple[str, str]]], when: str) -> int:
    served.settle()
    popular = _popular(served)
    checked = 0
    wrong: list[str] = []
    for user, did in actions.items():
        items = served.feed(user, 100)
        assert items, (when, user)
        for item in items:
            error = reason_error(item, did, popular)
            if error:
                wrong.append(f"{when} {user}: {error}")
            checked += 1
    assert wrong == [], wrong[:5]
    return checked


def test_every_reason_is_true_with_and_without_a_model(served: Served) -> None:
    load_design(served)
    funny, dance, cooking, travel, pets, gaming = (videos_in(g) for g in range(6))
    actions: dict[str, list[tuple[str, str]]] = {
        "A": [(funny[0], "like"), (funny[1], "like")],  # as load_design did
        "o1": [(v, "like") for v in funny[:4] + dance[1:6]],
        "k2": [(v, "like") for v in cooking[:5] + travel[:3]] + [(funny[-1], "view")],
    }
    checked = 0
    for p, phase in enumerate(("no model", "model", "precomputed")):
        if phase == "model":
            served.run("train")
        if phase == "precomputed":
            served.run("train", "precompute")
        script = [  # other videos in each phase
            ("B", cooking[9 - p], "like"),
            ("B", dance[14 - p], "skip"),
            ("B", travel[14 - p], "view"),
            ("A", pets[2 + p], "skip"),
            ("A", gaming[3 + p], "view"),
            (f"newbie{p}", dance[9 + p], "like"),
            ("C", pets[6 + p], "view"),
            ("B", funny[9 + p], "like"),
        ]
        for user, video, kind in script:
            served.act(user, video, kind)
            actions.setdefault(user, []).append((video, kind))
            checked += _check_pages(served, actions, f"{phase}, after {user} {kind} {video}:")
    assert checked > 3 * 8 * 4 * 50  # every item of every page (4+ users, 50+ items each)
