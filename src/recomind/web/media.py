"""Small local video clips for the demo catalogue, so the web feed plays with no network.

One short looping clip per tag is rendered once with an ffmpeg binary (the one shipped in the
``imageio-ffmpeg`` wheel, else ``ffmpeg`` on ``PATH``); each demo video ``v{N}.mp4`` is then a
hard link to the clip of its main tag. Title cards use Pillow when it is installed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 270, 480  # 9:16, tiny on purpose
SECONDS = 3
FPS = 15


class MediaUnavailableError(RuntimeError):
    """No ffmpeg binary could be found to render the demo clips."""


def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary: the ``imageio-ffmpeg`` wheel's, else one on ``PATH``."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
        return exe
    except Exception:  # not installed, or its binary is missing for this platform
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise MediaUnavailableError(
        "no ffmpeg found: `pip install imageio-ffmpeg` (ships one) or install ffmpeg"
    )


def tag_color(tag: str) -> tuple[int, int, int]:
    """A stable, fairly dark colour per tag (white text stays readable on it)."""
    h = hashlib.sha256(tag.encode()).digest()
    return (40 + h[0] % 150, 40 + h[1] % 150, 40 + h[2] % 150)


def _title_card(tag: str, path: Path) -> bool:
    """Draw ``#tag`` on the tag's colour into ``path`` (PNG). False without Pillow."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return False
    img = Image.new("RGB", (WIDTH, HEIGHT), tag_color(tag))
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=34)
        small = ImageFont.load_default(size=16)
    except TypeError:  # very old Pillow: fixed-size bitmap font only
        font = small = ImageFont.load_default()
    text = f"#{tag}"
    box = draw.textbbox((0, 0), text, font=font)
    x = (WIDTH - (box[2] - box[0])) // 2
    draw.text((x, HEIGHT // 3), text, fill=(255, 255, 255), font=font)
    sub = draw.textbbox((0, 0), "demo clip", font=small)
    draw.text(
        ((WIDTH - (sub[2] - sub[0])) // 2, HEIGHT // 3 + 48),
        "demo clip",
        fill=(235, 235, 235),
        font=small,
    )
    img.save(path)
    return True


def render_clip(tag: str, out: Path, exe: str | None = None) -> Path:
    """Render a ``SECONDS``-long looping H.264 clip for ``tag`` into ``out``."""
    exe = exe or ffmpeg_exe()
    out.parent.mkdir(parents=True, exist_ok=True)
    r, g, b = tag_color(tag)
    with tempfile.TemporaryDirectory() as tmp:
        card = Path(tmp) / "card.png"
        if _title_card(tag, card):
            base = ["-loop", "1", "-framerate", str(FPS), "-i", str(card)]
        else:
            base = ["-f", "lavfi", "-i", f"color=c=0x{r:02x}{g:02x}{b:02x}:s={WIDTH}x{HEIGHT}"]
        # A dot swinging left and right: one full period per clip, so the loop is seamless.
        dot = ["-f", "lavfi", "-i", f"color=c=white:s=36x36:r={FPS}"]
        motion = f"overlay=x='(W-w)*(0.5+0.4*sin(2*PI*t/{SECONDS}))':y=H*0.62:shortest=1"
        tmp_out = Path(tmp) / "clip.mp4"
        cmd = [
            exe, "-hide_banner", "-loglevel", "error", "-y", *base, *dot,
            "-filter_complex", f"[0:v][1:v]{motion},format=yuv420p[v]", "-map", "[v]",
            "-t", str(SECONDS), "-r", str(FPS), "-c:v", "libx264", "-preset", "veryfast",
            "-profile:v", "baseline", "-crf", "32", "-threads", "1",
            "-movflags", "+faststart", "-an", str(tmp_out),
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        shutil.move(str(tmp_out), out)
    return out


def render_clips(tags: Iterable[str], folder: Path, *, workers: int = 2) -> dict[str, Path]:
    """One clip per tag in ``folder/clips/{tag}.mp4``; existing clips are kept."""
    exe = ffmpeg_exe()
    wanted = {t: folder / "clips" / f"{t}.mp4" for t in dict.fromkeys(tags)}
    todo = [(t, p) for t, p in wanted.items() if not p.exists()]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda tp: render_clip(tp[0], tp[1], exe), todo))
    return wanted


def link_videos(folder: Path, clips: dict[str, Path], videos: Sequence[tuple[str, str]]) -> int:
    """Make ``folder/{name}`` for each ``(file name, tag)``: a hard link to the tag's clip.

    Falls back to a copy where hard links are not possible. Returns how many files were made.
    """
    made = 0
    for name, tag in videos:
        target = folder / name
        if target.exists() or tag not in clips:
            continue
        try:
            os.link(clips[tag], target)
        except OSError:
            shutil.copyfile(clips[tag], target)
        made += 1
    return made


def prepare_demo_media(media_dir: Path, videos: Iterable[tuple[str, list[str]]]) -> int:
    """Make every ``/media/...`` url of ``(url, tags)`` playable from ``media_dir``.

    Renders one clip per main tag (once) and links each video's file to it. Urls outside
    ``/media/`` are left alone. Returns how many video files were made this time.
    """
    wanted: list[tuple[str, str]] = []
    for url, tags in videos:
        if url.startswith("/media/") and tags and ".." not in url:
            wanted.append((url.removeprefix("/media/"), tags[0]))
    clips = render_clips([tag for _, tag in wanted], media_dir / "demo")
    for name, _ in wanted:
        (media_dir / name).parent.mkdir(parents=True, exist_ok=True)
    return link_videos(media_dir, clips, wanted)
