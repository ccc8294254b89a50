"""The features job over a lake on a local folder and on S3 (moto): incremental per hour
partition, equal to a run from scratch, and readable at serving."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recomind.analytics.features import CATALOGUE, FOLDER, USERS_FILE, VIDEOS_FILE
from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.jobs.features import update_features
from recomind.lake.fs import open_lake
from recomind.lake.impressions import Impression, ImpressionWriter
from recomind.lake.writer import LakeWriter
from recomind.records import Record
from recomind.schemas import ActionEvent, VideoCreate
from recomind.serving.features import FeatureStore
from recomind.storage import migrate
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.videos import create_videos

T0 = datetime(2026, 3, 1, 22, 40)
NOW = datetime(2026, 3, 2, 1, 0)


def _events(first: int, n: int) -> list[tuple[Record, ActionEvent]]:
    """Events at T0 + i minutes: 22:40 .. over the hour as n grows."""
    out = []
    for i in range(first, first + n):
        e = ActionEvent(
            event_id=f"e{i}",
            user_id=f"u{i % 3}",
            video_id=f"v{i % 4}",
            action_type=["view", "like", "skip"][i % 3],  # type: ignore[arg-type]
            timestamp=T0 + timedelta(minutes=i),
            watch_time_ms=(i * 1000 if i % 3 == 0 else None),
        )
        out.append((Record("video_actions_stream", 0, i, b"", b""), e))
    return out


def _catalogue(video_ids: Sequence[str]) -> pa.Table:
    rows = [
        {"video_id": v, "tags": ["all", f"tag-{v}"], "creator_id": f"c-{v}", "duration_s": 30.0}
        for v in video_ids
    ]
    return pa.Table.from_pylist(rows, schema=CATALOGUE)


def _shown(writer: ImpressionWriter, at: datetime, videos: list[str]) -> None:
    writer.write(
        [
            Impression(at, "r-" + at.isoformat(), "u0", pos, v, 1.0, "popular", "model:1", "miss")
            for pos, v in enumerate(videos)
        ]
    )


def _outputs(url: str, endpoint: str | None) -> tuple[pa.Table, pa.Table]:
    fs, root = open_lake(url, s3_endpoint_url=endpoint)
    out = []
    for name in (VIDEOS_FILE, USERS_FILE):
        with fs.open(f"{root}/{FOLDER}/{name}", "rb") as fh:
            out.append(pq.read_table(fh))
    return out[0], out[1]


def _update(url: str, endpoint: str | None, **kw: bool) -> list[str]:
    done = update_features(
        url,
        catalogue=_catalogue,
        s3_endpoint_url=endpoint,
        now=NOW,
        rebuild=kw.get("rebuild", False),
    )
    return done.computed


def test_incremental_per_partition(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    LakeWriter(url, s3_endpoint_url=endpoint).write(_events(0, 30))  # 22:40 .. 23:09
    shows = ImpressionWriter(url, s3_endpoint_url=endpoint)
    _shown(shows, T0, ["v0", "v1", "v2", "v3"])

    assert _update(url, endpoint) == ["dt=2026-03-01/hour=22", "dt=2026-03-01/hour=23"]
    assert _update(url, endpoint) == []  # nothing changed: nothing computed
    fs, root = open_lake(url, s3_endpoint_url=endpoint)
    with fs.open(f"{root}/{FOLDER}/partials/manifest.json", "rb") as fh:
        sources = json.loads(fh.read())["partitions"]["dt=2026-03-01/hour=22"]
    [(name, stamp)] = sources["events"].items()  # a file: its size and ETag or mtime
    assert name.startswith("dt=2026-03-01/hour=22/part-") and stamp.split(":")[1]
    assert len(sources["impressions"]) == 1

    # The open hour gains a file (and a partition of its own): only those are computed.
    LakeWriter(url, s3_endpoint_url=endpoint).write(_events(30, 40))  # 23:10 .. 23:49
    assert _update(url, endpoint) == ["dt=2026-03-01/hour=23"]
    _shown(shows, T0 + timedelta(hours=2), ["v1"])  # impressions in an hour without events
    assert _update(url, endpoint) == ["dt=2026-03-02/hour=00"]
    videos, users = _outputs(url, endpoint)

    # Equal to a run from scratch.
    assert len(_update(url, endpoint, rebuild=True)) == 3
    again = _outputs(url, endpoint)
    assert videos.equals(again[0]) and users.equals(again[1])

    by_video = {r["video_id"]: r for r in videos.to_pylist()}
    assert sum(r["views"] for r in by_video.values()) == 24  # every third event
    assert by_video["v1"]["impressions"] == 2 and by_video["v0"]["impressions"] == 1
    by_user = {r["user_id"]: r for r in users.to_pylist()}
    assert sum(r["events"] for r in by_user.values()) == 70
    assert by_user["u0"]["active_hours"][22] + by_user["u0"]["active_hours"][23] == 24
    assert by_user["u0"]["last_active_at"] == T0 + timedelta(minutes=69)


def test_a_rewritten_file_and_a_removed_partition(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    writer = LakeWriter(url, s3_endpoint_url=endpoint)
    paths = writer.write(_events(0, 30))
    assert len(_update(url, endpoint)) == 2
    # A file rewritten in place with other content (its size changes): recomputed.
    fs, root = open_lake(url, s3_endpoint_url=endpoint)
    late = next(p for p in paths if "hour=22" in p)
    with fs.open(late, "rb") as fh:
        head = pq.read_table(fh).slice(0, 10)  # 22:40 .. 22:49
    with fs.open(late, "wb") as fh:
        pq.write_table(head, fh)
    assert _update(url, endpoint) == ["dt=2026-03-01/hour=22"]
    _, users = _outputs(url, endpoint)
    assert sum(r["events"] for r in users.to_pylist()) == 20
    # A partition dropped from the lake (retention) leaves the features.
    fs.rm(f"{root}/dt=2026-03-01/hour=22", recursive=True)
    done = update_features(url, catalogue=_catalogue, s3_endpoint_url=endpoint, now=NOW)
    assert done.computed == [] and done.dropped == ["dt=2026-03-01/hour=22"]
    fs.invalidate_cache()
    assert not fs.exists(f"{root}/{FOLDER}/partials/dt=2026-03-01/hour=22/videos.parquet")
    _, users = _outputs(url, endpoint)
    assert sum(r["events"] for r in users.to_pylist()) == 10  # 23:00 .. 23:09


def test_the_loader_reads_and_reloads(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    clock = [0.0]
    store = FeatureStore(url, s3_endpoint_url=endpoint, check_every_s=60, clock=lambda: clock[0])
    assert store.video("v1") is None and store.generated_at is None  # no features yet
    empty = update_features(url, catalogue=_catalogue, s3_endpoint_url=endpoint, now=NOW)
    assert not empty.merged and store.refresh() is False  # an empty lake: nothing written

    LakeWriter(url, s3_endpoint_url=endpoint).write(_events(0, 12))
    update_features(url, catalogue=_catalogue, s3_endpoint_url=endpoint, now=NOW)
    assert store.video("v1") is None  # checked a moment ago: not yet
    clock[0] = 61.0
    v1 = store.video("v1")
    assert v1 is not None and store.generated_at == NOW
    # v1: liked by u1 (e1), skipped by u2 (e5), watched 9 s of 30 by u0 (e9).
    assert (v1.likes, v1.skips, v1.views) == (1, 1, 1)
    assert v1.mean_watch_fraction == pytest.approx(0.3)
    assert v1.like_rate == pytest.approx((1 + 20 * 4 / 12) / (3 + 20))  # 12 exposures, 4 likes
    u0 = store.user("u0")
    assert u0 is not None and u0.views == 4 and len(u0.active_hours) == 24
    assert u0.tag_affinity["all"] == pytest.approx(sum(i / 30 for i in (0, 3, 6, 9)))
    assert u0.creator_affinity == pytest.approx(
        {"c-v0": 0.0, "c-v3": 0.1, "c-v2": 0.2, "c-v1": 0.3}
    )
    assert u0.recency_s(NOW) == (NOW - (T0 + timedelta(minutes=9))).total_seconds()
    assert store.user("nobody") is None

    later = NOW + timedelta(hours=1)
    LakeWriter(url, s3_endpoint_url=endpoint).write(_events(12, 3))
    update_features(url, catalogue=_catalogue, s3_endpoint_url=endpoint, now=later)
    assert store.refresh() is True and store.generated_at == later
    u1 = store.user("u1")
    assert u1 is not None and u1.likes == 5  # e1, e4, e7, e10 and now e13
    assert store.refresh() is False  # the same manifest: nothing reloaded

    manual = FeatureStore(url, s3_endpoint_url=endpoint, check_every_s=None)
    assert manual.video("v1") is None  # never reads the lake by itself
    assert manual.refresh() is True and manual.video("v1") == store.video("v1")


def test_the_job_reads_the_catalogue_from_the_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'recomind.db'}"
    migrate.upgrade(db)
    engine = make_engine(db)
    try:
        with write_tx(engine) as conn:
            create_videos(
                conn,
                items=[
                    VideoCreate(
                        video_id=f"v{i}",
                        title=f"t{i}",
                        url=f"https://cdn.example/{i}.mp4",
                        tags=["all", f"tag-v{i}"],
                        creator_id=f"c-v{i}",
                        duration_s=30.0,
                    )
                    for i in range(4)
                ],
            )
        url = f"file://{tmp_path}/lake"
        LakeWriter(url).write(_events(0, 12))
        settings = Settings(database_url=db, lake_url=url)
        [result] = run_jobs(JobContext(settings, engine), ["features"])
        assert result.ok, result.error
        assert result.summary == {
            "computed": 1,
            "kept": 0,
            "dropped": 0,
            "merged": True,
            "videos": 4,
            "users": 3,
        }
        u0 = FeatureStore(url).user("u0")
        assert u0 is not None and u0.tag_affinity["all"] == pytest.approx(0.6)
        [again] = run_jobs(JobContext(settings, engine), ["features"])
        assert again.summary["computed"] == 0 and again.summary["merged"] is False
    finally:
        engine.dispose()
