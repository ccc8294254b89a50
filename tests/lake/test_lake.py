"""The data lake on a local folder and on an S3-compatible endpoint (moto, on loopback)."""

from __future__ import annotations

from datetime import datetime, timedelta

from recomind.lake.impressions import IMPRESSIONS, Impression, ImpressionWriter, read_impressions
from recomind.lake.reader import iter_events, read_table
from recomind.lake.writer import LakeWriter
from recomind.records import Record
from recomind.schemas import ActionEvent

T0 = datetime(2026, 3, 1, 22, 50)


def _items(first: int, n: int, partition: int = 0) -> list[tuple[Record, ActionEvent]]:
    out = []
    for off in range(first, first + n):
        e = ActionEvent(
            event_id=f"e{partition}-{off}",
            user_id=f"u{off % 7}",
            video_id=f"v{off % 11}",
            action_type=["view", "like", "skip"][off % 3],  # type: ignore[arg-type]
            timestamp=T0 + timedelta(minutes=off),
            watch_time_ms=(off * 100 if off % 3 == 0 else None),
        )
        out.append((Record("video_actions_stream", partition, off, e.user_id.encode(), b""), e))
    return out


def test_partitioned_by_day_and_hour(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    writer = LakeWriter(url, s3_endpoint_url=endpoint)
    paths = writer.write(_items(0, 30))  # 22:50 .. 23:19 → two hours
    assert len(paths) == 2
    assert any("/dt=2026-03-01/hour=22/" in p for p in paths)
    assert any("/dt=2026-03-01/hour=23/" in p for p in paths)
    table = read_table(url, s3_endpoint_url=endpoint)
    assert table.num_rows == 30
    events = list(iter_events(url, s3_endpoint_url=endpoint))
    assert [e.event_id for e in events] == [f"e0-{i}" for i in range(30)]  # time order
    assert events[3].watch_time_ms == 300 and events[1].watch_time_ms is None


def test_each_event_once_even_when_written_twice(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    writer = LakeWriter(url, s3_endpoint_url=endpoint)
    writer.write(_items(0, 20))
    writer.write(_items(0, 20))  # the same batch again: the same file names
    writer.write(_items(10, 20))  # cut differently after a restart: overlaps 10..19
    writer.write(_items(0, 5, partition=1))
    table = read_table(url, s3_endpoint_url=endpoint)
    ids = table.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 35


def test_empty_or_missing_lake_reads_as_empty(lake: tuple[str, str | None]) -> None:
    url, endpoint = lake
    assert read_table(url, s3_endpoint_url=endpoint).num_rows == 0


def _impressions(at: datetime, request: str, n: int) -> list[Impression]:
    return [
        Impression(at, request, "u1", k, f"v{k}", 1.0 / (k + 1), "popular in #x", "trending", "hit")
        for k in range(n)
    ]


def test_impressions_beside_the_events(lake: tuple[str, str | None]) -> None:
    """The served-list log: partitioned like the events, read back in page order, and never
    read as events (the event reader takes only its own ``dt=`` folders)."""
    url, endpoint = lake
    LakeWriter(url, s3_endpoint_url=endpoint).write(_items(0, 3))
    writer = ImpressionWriter(url, s3_endpoint_url=endpoint)
    late = datetime(2026, 11, 30, 23, 59, 59)
    early = datetime(2026, 11, 30, 7, 0, 0)
    paths = writer.write(_impressions(late, "r2", 2) + _impressions(early, "r1", 3))
    assert len(paths) == 2 and all("/impressions/dt=2026-11-30/hour=" in p for p in paths)
    assert len(set(writer.write(_impressions(early, "r3", 1)) + paths)) == 3  # never overwritten
    table = read_impressions(url, s3_endpoint_url=endpoint)
    assert table.column("request_id").to_pylist() == ["r1"] * 3 + ["r3", "r2", "r2"]
    assert table.column("position").to_pylist() == [0, 1, 2, 0, 0, 1]
    assert table.schema.equals(IMPRESSIONS)
    assert read_table(url, s3_endpoint_url=endpoint).num_rows == 3  # the events alone
