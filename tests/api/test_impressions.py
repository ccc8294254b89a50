"""The served-list log: every page served is in the lake, one row per item, in page order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from recomind.jobs import JobContext, run_jobs
from recomind.lake.impressions import ImpressionWriter, read_impressions
from recomind.serving import impressions as log_module
from recomind.serving.impressions import ImpressionLog, ServedPage
from recomind.serving.list_codec import decode, encode
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api


def test_every_page_served_is_logged(api: Api) -> None:
    log = api.state.recommendations.impressions
    assert log is not None
    log.flush()
    before = read_impressions(api.settings.lake_url).num_rows
    videos = load_catalogue(api.http)
    act(api.http, "u1", videos[0]["video_id"], "view")
    pages = [api.http.get("/recommendations/u1", params={"n": n}) for n in (5, 5, 3)]
    assert [p.headers["x-cache"] for p in pages] == ["miss", "hit", "hit"]
    api.http.get("/trending")  # no user: not an impression
    assert log.flush() == 13
    table = read_impressions(api.settings.lake_url)
    rows = table.slice(before).to_pylist()
    for page in pages:
        mine = [r for r in rows if r["request_id"] == page.headers["x-request-id"]]
        shown = orjson.loads(page.content)
        assert [r["video_id"] for r in mine] == [i["video_id"] for i in shown]
        assert [r["position"] for r in mine] == list(range(len(shown)))
        assert {r["cache"] for r in mine} == {page.headers["x-cache"]}
        assert {r["user_id"] for r in mine} == {"u1"}
        assert {r["source"] for r in mine} == {"tag-affinity"}  # no model trained
        assert [r["reason"] for r in mine] == [i["reason"] for i in shown]
        assert [round(r["score"], 3) for r in mine] == [round(i["score"], 3) for i in shown]
    assert len({p.headers["x-request-id"] for p in pages}) == 3


class _Failing(ImpressionWriter):
    fail = True

    def write_hour(self, hour: datetime, tables: Iterable[pa.Table]) -> str:
        if self.fail:
            raise OSError("the lake is away")
        return super().write_hour(hour, tables)


def test_a_failed_write_keeps_the_pages_and_a_full_log_drops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path}"
    writer = _Failing(url)
    log = ImpressionLog(writer, flush_seconds=3600)
    listed = decode(encode([("v1", 1.0, "r"), ("v2", 0.5, "s")], source="trending"))
    assert listed is not None
    at = datetime(2026, 11, 30).timestamp()
    log.served(
        ServedPage.of(listed, [0, 1], served_at=at, request_id="r1", user_id="u1", cache="hit")
    )
    assert log.flush() == 0  # failed: kept
    monkeypatch.setattr(log_module, "IMPRESSIONS_MAX_PAGES", 2)
    log.served(ServedPage.of(listed, [1], served_at=at, request_id="r2", user_id="u1", cache="hit"))
    dropped = ServedPage.of(listed, [0], served_at=at, request_id="r3", user_id="u1", cache="hit")
    log.served(dropped)  # over the cap: dropped
    writer.fail = False
    assert log.flush() == 3
    rows = read_impressions(url).to_pylist()
    got = [(r["request_id"], r["position"], r["video_id"], r["source"]) for r in rows]
    assert got == [
        ("r1", 0, "v1", "trending"),
        ("r1", 1, "v2", "trending"),
        ("r2", 0, "v2", "trending"),
    ]
    log.close()


def test_online_figures_join_actions_to_what_was_shown(api: Api) -> None:
    """The ``online-figures`` job: per source, likes and skips per impression and the mean
    share watched, from the served-list log joined to the event lake; in /api/stats and
    /metrics."""
    videos = load_catalogue(api.http)
    durations = {v["video_id"]: v["duration_s"] for v in videos}
    act(api.http, "u1", videos[0]["video_id"], "view")
    page = orjson.loads(api.http.get("/recommendations/u1", params={"n": 4}).content)
    shown = [i["video_id"] for i in page]
    act(api.http, "u1", shown[0], "like")
    act(api.http, "u1", shown[1], "skip")
    watched = int(durations[shown[2]] * 1000 / 4)  # a quarter of the video
    act(api.http, "u1", shown[2], "view", watch_time_ms=watched)
    act(api.http, "u2", shown[3], "like")  # another user: not u1's impression
    api.settle()
    assert api.state.recommendations.impressions is not None
    api.state.recommendations.impressions.flush()
    [result] = run_jobs(
        JobContext(api.settings, api.engine, api.state.recommendations), ["online-figures"]
    )
    assert result.ok, result.error
    stats = api.http.get("/api/stats").json()["online"]
    [source] = [s for s in stats["sources"] if s["impressions"] >= 4]
    assert source["source"] == "tag-affinity"
    assert source["likes"] == 1 and source["skips"] == 1
    assert source["like_rate"] == pytest.approx(1 / source["impressions"])
    assert source["mean_watch_fraction"] == pytest.approx(0.25, abs=0.01)
    metrics = api.http.get("/metrics/").text
    assert "recomind_online_like_rate{" in metrics
