"""Demo clips: rendered once per tag with the bundled ffmpeg, linked per video."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recomind.web import media
from tests.utils.services import unavailable


@pytest.fixture(scope="module")
def exe() -> str:
    try:
        return media.ffmpeg_exe()
    except media.MediaUnavailableError as exc:
        unavailable("ffmpeg (pip install imageio-ffmpeg)", exc)
        raise


def test_prepare_demo_media_links_each_video_to_its_tag_clip(exe: str, tmp_path: Path) -> None:
    videos = [
        ("/media/demo/v1.mp4", ["cooking", "food"]),
        ("/media/demo/v2.mp4", ["travel"]),
        ("/media/demo/v3.mp4", ["cooking"]),
        ("https://cdn.example/v4.mp4", ["travel"]),  # not ours: left alone
        ("/media/../escape.mp4", ["travel"]),
    ]
    assert media.prepare_demo_media(tmp_path, videos) == 3
    clips = sorted(p.name for p in (tmp_path / "demo" / "clips").iterdir())
    assert clips == ["cooking.mp4", "travel.mp4"]
    v1, v3 = tmp_path / "demo" / "v1.mp4", tmp_path / "demo" / "v3.mp4"
    assert v1.read_bytes()[4:8] == b"ftyp"
    assert os.path.samefile(v1, v3)  # one clip, two names
    assert os.path.getsize(v1) < 200_000
    assert not (tmp_path / "escape.mp4").exists()
    # Idempotent: a second run renders and links nothing new.
    mtime = (tmp_path / "demo" / "clips" / "cooking.mp4").stat().st_mtime_ns
    assert media.prepare_demo_media(tmp_path, videos) == 0
    assert (tmp_path / "demo" / "clips" / "cooking.mp4").stat().st_mtime_ns == mtime


def test_tag_colours_are_stable_and_dark_enough() -> None:
    assert media.tag_color("pets") == media.tag_color("pets")
    assert all(40 <= c < 190 for c in media.tag_color("cooking"))
