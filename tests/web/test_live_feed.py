"""The feed after an action, in a real browser: a skip re-ranks the upcoming videos too, and
the toast promises only what the next videos deliver."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.web.helpers import load_catalogue
from tests.web.test_feed import current, idle, next_video

pytestmark = pytest.mark.browser

UPCOMING = 5  # what the feed's toast speaks about (feed.js)


def _trend(web: Api, videos: list[str], fans: int = 4) -> None:
    for u in range(fans):
        for v in videos:
            r = web.http.post(
                "/video_action", json={"user_id": f"fan{u}", "video_id": v, "action_type": "like"}
            )
            assert r.status_code == 202, r.text
    web.settle()
    web.state.recommendations.reset_local_state()  # as after candidate_pool_ttl_s


def _signed_in(page_factory: Any, web: Api, user: str) -> Any:
    r = web.http.post("/users", json={"user_id": user, "name": user.title()})
    assert r.status_code == 201, r.text
    page = page_factory(web.base_url)
    page.add_init_script(
        f"localStorage.setItem('recomind.user', JSON.stringify({{user_id: '{user}', name: 'X'}}))"
    )
    page.goto("/")
    page.wait_for_selector(".feed[data-mode='personal'] .slide")
    idle(page)
    return page


def _toast(page: Any) -> str:
    return str(page.locator("#toast").text_content())


def test_a_skip_reranks_the_upcoming_videos(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http)
    dance = [f"dance-{i}" for i in range(10)]
    _trend(web, dance)  # a new user's feed is trending: dance after dance
    before = [v["tags"][0] for v in web.http.get("/trending?n=8").json()]
    assert before.count("dance") >= 6
    page = _signed_in(page_factory, web, "skipper")
    first = current(page)
    assert first["tags"] == ["dance"]
    page.locator(".slide .skip").click()
    page.wait_for_selector(".feed[data-index='1']", state="attached")
    idle(page)  # the skip was accepted and the upcoming videos re-ranked
    assert _toast(page) == "Skipped — no #dance in your next videos"
    after_skip = current(page)  # chosen before the skip: may still be dance
    following = [next_video(page) for _ in range(UPCOMING)]
    assert all("dance" not in v["tags"] for v in following), following
    assert first["video_id"] not in {v["video_id"] for v in [after_skip, *following]}


def _like_first(page: Any) -> str:
    """Like the video on screen; the toast once the upcoming videos are re-ranked."""
    page.locator(".slide .like").click()
    page.wait_for_selector(".slide .like[aria-pressed='true']")
    idle(page)
    return _toast(page)


def test_the_like_toast_promises_more_of_a_tag_the_next_videos_have(
    web: Api, page_factory: Any
) -> None:
    load_catalogue(web.http)
    _trend(web, ["pets-0"])
    page = _signed_in(page_factory, web, "liker")
    assert current(page)["video_id"] == "pets-0"
    assert _like_first(page) == "Liked — more #pets coming up"
    following = [next_video(page) for _ in range(UPCOMING)]
    assert sum("pets" in v["tags"] for v in following) >= 3, following


def test_the_like_toast_promises_nothing_the_next_videos_lack(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http)
    solo = {
        "video_id": "solo-1",
        "title": "The only one",
        "url": "/media/demo/solo-1.mp4",
        "tags": ["solo"],
        "creator_id": "hermit",
        "duration_s": 20,
    }
    assert web.http.post("/videos", json=solo).status_code == 201
    _trend(web, ["solo-1"])
    page = _signed_in(page_factory, web, "liker")
    assert current(page)["video_id"] == "solo-1"
    message = _like_first(page)  # nothing else has #solo or its creator
    assert message == "Liked — saved to your likes"
    following = [next_video(page) for _ in range(UPCOMING)]
    assert all("solo" not in v["tags"] for v in following)
