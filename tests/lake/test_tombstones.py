"""Lake tombstones: every reader skips an erased user's rows dated at or before the erasure,
``lake-compact`` removes them from the files, and a taken-down video leaves the training
reader only (issue 15, point 4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from recomind.erasure_ids import subject_hash
from recomind.lake.compaction import compact
from recomind.lake.impressions import Impression, ImpressionWriter, read_impressions
from recomind.lake.reader import read_raw, read_table
from recomind.lake.tombstones import count_user_rows, load_url, set_video_tombstone, tombstone_user
from recomind.lake.writer import LakeWriter
from recomind.records import Record
from recomind.schemas import ActionEvent

T0 = datetime(2026, 12, 1, 10, 0, 0)


def _write(url: str, rows: list[tuple[str, str, datetime]], first_offset: int = 0) -> None:
    items = [
        (
            Record("t", 0, first_offset + i, None, b""),
            ActionEvent(
                event_id=f"00000000-0000-4000-8000-{first_offset + i:012d}",
                user_id=u,
                video_id=v,
                action_type="view",
                timestamp=at,
            ),
        )
        for i, (u, v, at) in enumerate(rows)
    ]
    LakeWriter(url).write(items)


def _raw_users(root: Path) -> list[str]:
    out: list[str] = []
    for path in root.rglob("*.parquet"):
        out += pq.read_table(path).column("user_id").to_pylist()
    return out


def test_tombstone_hides_then_compaction_removes(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'lake'}"
    _write(url, [("gone", "v1", T0), ("kept", "v1", T0), ("gone", "v2", T0 + timedelta(1))])
    ImpressionWriter(url).write(
        [
            Impression(T0, "r1", u, 0, "v1", 1.0, "popular", "trending", "miss")
            for u in ("gone", "kept")
        ]
    )
    assert count_user_rows(url, user_id="gone") == 3
    erased_at = T0 + timedelta(days=2)
    tombstone_user(url, user_sha256=subject_hash("gone"), erased_at=erased_at, receipt_id="r")
    assert load_url(url).users == {subject_hash("gone"): erased_at}
    assert read_table(url).column("user_id").to_pylist() == ["kept"]
    assert read_raw(url).column("user_id").to_pylist() == ["kept"]
    assert read_impressions(url).column("user_id").to_pylist() == ["kept"]
    # Later rows of the user (an action after the erasure) are not hidden.
    _write(url, [("gone", "v3", erased_at + timedelta(minutes=1))], first_offset=10)
    assert sorted(read_table(url).column("user_id").to_pylist()) == ["gone", "kept"]

    root = tmp_path / "lake"
    assert _raw_users(root).count("gone") == 4
    done = compact(url)
    assert done.rows_removed == 3
    assert _raw_users(root).count("gone") == 1  # the one after the erasure
    assert compact(url).files_checked == 0  # nothing new since: nothing read
    for path in root.rglob("*"):
        if path.is_file():
            assert b"gone" not in path.read_bytes() or "00000010" in path.name, path


def test_video_tombstone_hides_from_training_only(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'lake'}"
    _write(url, [("a", "v1", T0), ("a", "v2", T0)])
    set_video_tombstone(url, video_id="v1", down=True)
    stones = load_url(url)
    assert stones.videos == {"v1"}
    table = read_table(url)
    assert table.num_rows == 2  # replay and audits keep it (a takedown is reversible)
    assert stones.keep(table, taken_down=True).column("video_id").to_pylist() == ["v2"]
    digest = stones.digest
    set_video_tombstone(url, video_id="v1", down=False)
    assert load_url(url).videos == frozenset() and load_url(url).digest != digest
