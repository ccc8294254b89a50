"""The dashboard's online figures per source in a real browser: what the ``online-figures``
job computed from the served-list log, the same numbers as ``/api/stats``, and the empty
state before the job ran."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from recomind.analytics.online import SourceFigures
from recomind.jobs import JobContext, run_jobs
from recomind.serving.online_figures import store_figures
from tests.api.helpers import act
from tests.utils.stacks import Api
from tests.web.conftest import DESKTOP, PHONE, screenshot
from tests.web.helpers import load_catalogue

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.pwned=1">model:7'


def _percent(x: float) -> str:
    return f"{100 * x:.1f} %"  # what online.js's percent() writes


def test_panel_shows_what_the_job_computed_as_in_the_stats(web: Api, page_factory: Any) -> None:
    videos = load_catalogue(web.http, per_tag=3)
    durations = {v["video_id"]: v["duration_s"] for v in videos}
    act(web.http, "u1", videos[0]["video_id"], "view")  # before any page: nobody's impression
    web.settle()
    page = orjson.loads(web.http.get("/recommendations/u1", params={"n": 8}).content)
    shown = [i["video_id"] for i in page]
    assert len(shown) == 8
    act(web.http, "u1", shown[0], "like")
    act(web.http, "u1", shown[1], "skip")
    act(web.http, "u1", shown[2], "skip")
    act(web.http, "u1", shown[3], "view", watch_time_ms=int(durations[shown[3]] * 500))  # half
    web.settle()
    log = web.state.recommendations.impressions
    assert log is not None
    log.flush()
    [result] = run_jobs(
        JobContext(web.settings, web.engine, web.state.recommendations), ["online-figures"]
    )
    assert result.ok, result.error

    online = web.http.get("/api/stats").json()["online"]
    [expected] = online["sources"]
    assert expected["impressions"] == 8
    assert expected["like_rate"] == pytest.approx(1 / 8)

    browser = page_factory(web.base_url, viewport=DESKTOP)
    browser.goto("/dashboard")
    row = browser.locator(f'#online-table tbody tr[data-source="{expected["source"]}"]')
    row.wait_for()
    assert browser.locator("#online-table tbody tr").count() == 1
    assert row.locator("th").inner_text() == expected["source"]
    assert row.locator(".online-impressions").inner_text() == "8"
    assert row.locator(".online-like-rate").inner_text() == _percent(expected["like_rate"])
    assert row.locator(".online-like-rate").inner_text() == "12.5 %"
    assert row.locator(".online-skip-rate").inner_text() == _percent(expected["skip_rate"])
    assert row.locator(".online-skip-rate").inner_text() == "25.0 %"
    assert row.locator(".online-watch").inner_text() == "50.0 %"
    computed = browser.locator("#online-computed")
    assert computed.locator("time").get_attribute("datetime") == online["generated_at"]
    assert computed.locator("time").inner_text() == "just now"
    assert browser.locator("#online-empty").count() == 0
    row.scroll_into_view_if_needed()
    screenshot(browser, "dashboard-online-figures")


def test_empty_state_until_figures_exist_and_sources_are_text(web: Api, page_factory: Any) -> None:
    assert web.http.get("/api/stats").json()["online"] is None
    page = page_factory(web.base_url, viewport=PHONE)
    page.goto("/dashboard")
    empty = page.locator("#online-empty")
    empty.wait_for()
    assert "No online figures yet — run recomind jobs run online-figures." in empty.inner_text()
    assert empty.locator("code").first.inner_text() == "recomind jobs run online-figures"
    assert page.locator("#online-table").count() == 0
    empty.scroll_into_view_if_needed()
    screenshot(page, "dashboard-online-empty")

    # A source name is shown as text, never parsed as markup.
    figures = SourceFigures(HOSTILE, 4, likes=1, skips=0, mean_watch_fraction=None, watched=0)
    store_figures(web.state.cache, web.settings, [figures])
    page.get_by_role("button", name="Refresh now").click()
    cell = page.locator("#online-table tbody th")
    cell.wait_for()
    assert cell.inner_text() == HOSTILE
    assert page.locator("#online-table img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.locator("#online-table .online-like-rate").inner_text() == "25.0 %"
    assert page.locator("#online-table .online-watch").inner_text() == "n/a"
    assert page.locator("#online-empty").count() == 0
    cell.scroll_into_view_if_needed()
    screenshot(page, "dashboard-online-phone")
