"""``DELETE /videos/{video_id}``: a taken-down video is in no list within a second (cached
lists, trending, cache hits), generated and trained on nowhere; a restore undoes it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from recomind.jobs.features import catalogue_from, update_features
from recomind.jobs.runner import JobContext
from recomind.serving.takedowns import Takedowns
from recomind.serving.training_data import load_dataset
from recomind.storage.engine import read_tx
from recomind.storage.training import action_rows, item_rows
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api

USERS = [f"reader-{i}" for i in range(4)]


def _lists(api: Api) -> dict[str, tuple[str, list[str]]]:
    """Every user's list and trending: ``name -> (X-Cache, video ids)``."""
    out = {}
    for path in [*(f"/recommendations/{u}" for u in USERS), "/trending"]:
        r = api.http.get(path, params={"n": 10})
        assert r.status_code == 200, r.text
        out[path] = (r.headers.get("x-cache", ""), [v["video_id"] for v in r.json()])
    return out


def _popular_everywhere(api: Api) -> str:
    """Users act so one video leads trending and is in every list; returns it."""
    load_catalogue(api.http, 20)
    for j, user in enumerate(["fan-a", "fan-b", "fan-c"]):
        act(api.http, user, "v4", "like")
        act(api.http, user, f"v{10 + j}", "view", watch_time_ms=20_000)
    for i, user in enumerate(USERS):
        act(api.http, user, f"v{15 + i}", "view", watch_time_ms=5000)
    api.settle()
    lists = _lists(api)
    assert all("v4" in ids for _, ids in lists.values()), lists
    again = _lists(api)  # now cached: the hit path answers
    assert all(how == "hit" for how, _ in again.values()), again
    return "v4"


def test_taken_down_video_is_in_no_list_within_a_second(api: Api) -> None:
    video = _popular_everywhere(api)
    start = time.perf_counter()
    r = api.http.delete(f"/videos/{video}")
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "takedown_video" and r.json()["repeated"] is False
    while True:
        lists = _lists(api)
        elapsed = time.perf_counter() - start
        if all(video not in ids for _, ids in lists.values()):
            break
        assert elapsed < 1.0, f"still listed after {elapsed:.3f}s: {lists}"
        time.sleep(0.02)
    assert elapsed < 1.0
    print(f"taken down in no list after {elapsed * 1000:.0f} ms")
    # The users' cached lists still answer from the cache (filtered at serve time).
    assert any(how in ("hit", "stale") for how, _ in lists.values())
    assert api.http.get(f"/videos/{video}").status_code == 404
    # A list computed now (another user, a new list) does not generate it either.
    api.state.cache.backend.delete_prefix(api.settings.cache_prefix)
    api.state.recommendations.reset_local_state()
    assert all(video not in ids for _, ids in _lists(api).values())
    # Repeating is fine; an unknown id is a 404 in the error shape.
    assert api.http.delete(f"/videos/{video}").json()["repeated"] is True
    missing = api.http.delete("/videos/no-such-video")
    assert missing.status_code == 404 and missing.json()["error"]
    # Audited.
    log = api.http.get("/admin/audit", params={"action": "takedown_video"}).json()
    assert [e["target"] for e in log] == [f"video:{video}"] * 2

    # Restored: served and trained on again.
    assert api.http.post(f"/videos/{video}/restore").status_code == 200
    assert api.http.get(f"/videos/{video}").status_code == 200
    assert video in _lists(api)["/trending"][1]


def _trained_ids(engine: Engine) -> tuple[set[str], set[str]]:
    with read_tx(engine) as conn:
        items = {r[0] for r in item_rows(conn)}
        acted = {r[1] for r in action_rows(conn)}
    return items, acted


def test_taken_down_video_is_not_trained_on(api: Api) -> None:
    video = _popular_everywhere(api)
    assert video in _trained_ids(api.engine)[0]
    assert api.http.delete(f"/videos/{video}").status_code == 200
    items, acted = _trained_ids(api.engine)
    assert video not in items and video not in acted
    interactions, meta = load_dataset(api.engine, settings=api.settings)
    assert video not in meta.item_ids and video not in interactions.item_ids
    # The lake's training reader (the features job) leaves it out too.
    pytest.importorskip("duckdb")
    ctx = JobContext(api.settings, api.engine, api.state.recommendations)
    done = update_features(api.settings.lake_url, catalogue=catalogue_from(ctx))
    assert done.merged
    import pyarrow.parquet as pq

    root = api.settings.lake_url.removeprefix("file://")
    videos = pq.read_table(f"{root}/features/v1/videos.parquet").column("video_id").to_pylist()
    assert video not in videos and "v10" in videos
    assert api.http.post(f"/videos/{video}/restore").status_code == 200
    done = update_features(api.settings.lake_url, catalogue=catalogue_from(ctx))
    videos = pq.read_table(f"{root}/features/v1/videos.parquet").column("video_id").to_pylist()
    assert video in videos


def test_another_process_hides_it_within_a_second(embedded_api: Api) -> None:
    """A process that did not take the video down re-reads the takedowns every
    ``takedown_refresh_s`` (0.5 s) in the background: it hides the video within a second."""
    api = embedded_api
    load_catalogue(api.http, 3)
    other = Takedowns(api.engine, refresh_s=api.settings.takedown_refresh_s)
    assert other.refresh() == frozenset()
    start = time.perf_counter()
    assert api.http.delete("/videos/v1").status_code == 200
    while "v1" not in other.ids:
        assert time.perf_counter() - start < 1.0
        time.sleep(0.01)
    assert time.perf_counter() - start < 1.0
