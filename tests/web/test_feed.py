"""The feed in a real browser: trending signed out, sign in, likes steer the feed, skips."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.web.conftest import DESKTOP, PHONE, install_media, screenshot, wait_in_page
from tests.web.helpers import actions, eventually, load_catalogue

TARGET = "pets"
ROBIN = '{"user_id": "shots", "name": "Robin"}'

pytestmark = pytest.mark.browser


def current(page: Any) -> dict[str, Any]:
    """The slide on screen: its video id and tags (data attributes the feed renders)."""
    slide = page.locator(".stage .slide")
    slide.wait_for()
    return {
        "video_id": slide.get_attribute("data-video-id"),
        "tags": (slide.get_attribute("data-tags") or "").split(),
    }


def idle(page: Any) -> None:
    """Wait until the feed has no request in flight."""
    page.wait_for_selector(".feed[data-busy='0']", state="attached")


def next_video(page: Any) -> dict[str, Any]:
    before = page.locator(".feed").get_attribute("data-index")
    page.keyboard.press("ArrowDown")
    wait_in_page(page, "b => document.querySelector('.feed').dataset.index !== b", before)
    idle(page)
    return current(page)


def sign_in_as_new_user(page: Any, name: str) -> str:
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Create account and sign in").click()
    page.wait_for_selector(".feed[data-mode='personal'] .slide")
    user = page.evaluate("JSON.parse(localStorage.getItem('recomind.user'))")
    assert user["name"] == name
    return str(user["user_id"])


def test_signed_out_feed_shows_trending(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http)
    web.http.post(
        "/video_action", json={"user_id": "x", "video_id": "dance-3", "action_type": "like"}
    )
    web.settle()
    trending = web.http.get("/trending?n=5").json()
    assert trending[0]["video_id"] == "dance-3"

    page = page_factory(web.base_url)
    page.goto("/")
    page.wait_for_selector(".feed[data-mode='trending'] .slide")
    assert current(page)["video_id"] == "dance-3"
    slide = page.locator(".slide")
    assert slide.locator(".title").inner_text() == trending[0]["title"]
    assert slide.locator(".reason").inner_text() == trending[0]["reason"]
    assert "#dance" in slide.locator(".tags").inner_text()
    # Every control is a labelled button.
    for name in ("Previous video", "Next video"):
        assert page.get_by_role("button", name=name).count() == 1
    assert page.get_by_role("button", name=f"Like: {trending[0]['title']}").count() == 1
    assert page.get_by_role("button", name=f"Skip: {trending[0]['title']}").count() == 1
    assert next_video(page)["video_id"] == trending[1]["video_id"]
    page.keyboard.press("k")
    page.wait_for_selector(".feed[data-index='0']", state="attached")


def test_likes_in_one_tag_steer_the_next_videos(
    web: Api, page_factory: Any, clips: dict[str, Any]
) -> None:
    videos = load_catalogue(web.http)
    install_media(web, clips, videos)
    page = page_factory(web.base_url)
    page.goto("/")
    page.wait_for_selector(".feed[data-mode='trending'] .slide")
    user_id = sign_in_as_new_user(page, "Tess")

    liked: list[str] = []
    shown = current(page)
    for _ in range(60):
        if TARGET in shown["tags"]:
            page.locator(".slide .like").click()
            page.wait_for_selector(".slide .like[aria-pressed='true']")
            idle(page)
            liked.append(str(shown["video_id"]))
            if len(liked) == 3:
                break
        shown = next_video(page)
    assert len(liked) == 3, "never found three videos tagged #pets"

    rows = eventually(
        lambda: actions(web.engine, user_id, "like"), until=lambda r: len(r) >= len(liked)
    )
    assert sorted(r.video_id for r in rows) == sorted(liked)

    following = [next_video(page) for _ in range(4)]
    assert all(TARGET in v["tags"] for v in following), following
    assert not {v["video_id"] for v in following} & set(liked)
    assert f"because you liked #{TARGET}" in page.locator(".slide .reason").inner_text()
    # Leaving a watched video records a view with its watch time.
    views = eventually(lambda: actions(web.engine, user_id, "view"))
    assert views and all(r.watch_time_ms is not None for r in views)
    screenshot(page, "feed-personal-phone")


def test_skip_button_sends_a_skip(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http)
    r = web.http.post("/users", json={"user_id": "skipper", "name": "Sky"})
    assert r.status_code == 201
    page = page_factory(web.base_url, viewport=DESKTOP)
    page.add_init_script(
        "localStorage.setItem('recomind.user', JSON.stringify({user_id: 'skipper', name: 'Sky'}))"
    )
    page.goto("/")
    page.wait_for_selector(".feed[data-mode='personal'] .slide")
    skipped = current(page)["video_id"]
    page.locator(".slide .skip").click()
    page.wait_for_selector(".feed[data-index='1']", state="attached")
    rows = eventually(lambda: actions(web.engine, "skipper", "skip"))
    assert [r.video_id for r in rows] == [skipped]
    assert rows[0].watch_time_ms is not None
    assert current(page)["video_id"] != skipped


def test_missing_video_file_shows_a_title_card(web: Api, page_factory: Any) -> None:
    r = web.http.post(
        "/videos",
        json={"video_id": "gone", "title": "Lost Footage", "url": "/media/demo/gone.mp4",
              "tags": ["travel"]},
    )  # fmt: skip
    assert r.status_code == 201
    page = page_factory(web.base_url)
    page.goto("/")
    page.wait_for_selector(".slide[data-state='broken']")
    assert page.locator(".slide .card-note").is_visible()
    assert page.locator(".slide .card-title").inner_text() == "Lost Footage"
    assert page.locator(".slide .title").inner_text() == "Lost Footage"
    assert page.locator(".slide video").is_hidden()
    screenshot(page, "broken-video-phone")


def test_demo_clips_play_and_screenshots(
    web: Api, page_factory: Any, clips: dict[str, Any]
) -> None:
    """Local clips play offline; screenshots of every view on a phone and a desktop."""
    videos = load_catalogue(web.http)
    install_media(web, clips, videos)
    web.http.post("/users", json={"user_id": "shots", "name": "Robin"})
    for v in videos[:8]:
        web.http.post(
            "/video_action",
            json={"user_id": "shots", "video_id": v["video_id"], "action_type": "like"},
        )
    web.settle()
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = page_factory(web.base_url, viewport=viewport)
        page.goto("/")
        page.wait_for_selector(".slide[data-state='playing']")
        assert page.evaluate("document.querySelector('.slide video').readyState") >= 2
        screenshot(page, f"feed-{label}")
        page.evaluate(f"localStorage.setItem('recomind.user', JSON.stringify({ROBIN}))")
        page.goto("/#/profile")
        page.wait_for_selector(".top-tags .bar")
        page.wait_for_selector(".likes li[data-video-id]")
        screenshot(page, f"profile-{label}")
        page.goto("/#/signin")
        page.wait_for_selector(".user-pick")
        screenshot(page, f"signin-{label}")
        page.goto("/#/dashboard")
        page.wait_for_selector("#events-chart[data-drawn]")
        screenshot(page, f"dashboard-{label}")
