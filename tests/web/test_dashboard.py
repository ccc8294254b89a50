"""The operator dashboard in a real browser: tiles and its hand-drawn charts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.web.conftest import DESKTOP
from tests.web.helpers import load_catalogue

PAINTED_PIXELS = """() => {
  const c = document.getElementById('events-chart');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
}"""

pytestmark = pytest.mark.browser


def test_dashboard_renders_stats_and_charts(web: Api, page_factory: Any) -> None:
    videos = load_catalogue(web.http, per_tag=3)
    for i, v in enumerate(videos[:10]):
        kind = "like" if i % 2 else "view"
        r = web.http.post(
            "/video_action",
            json={"user_id": f"u{i}", "video_id": v["video_id"], "action_type": kind},
        )
        assert r.status_code == 202
    web.settle()
    web.http.get("/trending")
    web.http.get("/trending")  # a cache hit, so the hit rate is a number

    page = page_factory(web.base_url, viewport=DESKTOP)
    page.goto("/dashboard")  # redirects to /#/dashboard
    page.wait_for_selector("#events-chart[data-drawn]")
    assert page.evaluate(PAINTED_PIXELS) > 100
    assert page.locator("#trending-chart svg rect").count() > 0
    assert page.locator("#stat-lag").inner_text() == "0"  # settled: nothing waiting
    assert page.locator("#stat-batch").inner_text() == "n/a"
    assert page.locator("#stat-epm").inner_text() == "10"
    assert "%" in page.locator("#stat-hit-rate").inner_text()
    assert page.locator("#stat-totals").inner_text().startswith("18 · ")
