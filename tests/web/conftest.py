"""Browser fixtures: Debian's headless Chromium driven by Playwright against the real server.

Playwright's own browser download does not work here, so the system Chromium is launched
(``RECOMIND_TEST_CHROMIUM`` or ``/usr/bin/chromium``). Without it the browser tests skip
locally and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recomind.config import Settings
from recomind.storage.engine import make_engine
from tests.conftest import truncate
from tests.utils.credentials import TEST_MASTER_KEY
from tests.utils.services import unavailable
from tests.utils.stacks import Api, running_api

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def chromium_path() -> str:
    path = os.environ.get("RECOMIND_TEST_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        path = "/usr/bin/chromium"
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("the playwright package", exc)
    if not Path(path).exists():
        unavailable(
            f"Chromium at {path}",
            FileNotFoundError("apt-get install chromium, or set RECOMIND_TEST_CHROMIUM"),
        )
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    except Exception as exc:  # playwright's Error: the binary would not start
        pw.stop()
        unavailable(f"Chromium at {path}", exc)
        raise
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def web(stack_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Api]:
    """The real app on the embedded stack, with an empty database and ``tmp_path/media``."""
    # The demo's access: signed-out visitors see trending, the web app signs users in.
    settings = stack_settings("embedded", media_dir=tmp_path / "media", public_reads=True)
    eng = make_engine(settings.database_url)
    truncate(eng)
    eng.dispose()
    with running_api(settings) as a:
        yield a


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    """``new_page(base_url, viewport=PHONE)``: a fresh context (own localStorage) per page.

    The tab holds the test master key as its pasted admin key (the dashboard and the user
    list need one) unless ``admin_key=False``. JavaScript errors on any page fail the test,
    and so does anything the Content-Security-Policy blocks (Chromium reports it on the
    console as "Refused to ...").
    """
    contexts: list[Any] = []
    errors: list[str] = []

    def new_page(
        base_url: str, viewport: dict[str, int] | None = None, admin_key: bool = True
    ) -> Any:
        ctx = browser.new_context(viewport=viewport or PHONE, base_url=base_url)
        if admin_key:
            key = json.dumps(TEST_MASTER_KEY)
            ctx.add_init_script(f"sessionStorage.setItem('recomind.adminKey', {key})")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: csp_violation(msg.text, errors))
        return page

    yield new_page
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def wait_in_page(page: Any, function: str, arg: Any = None, timeout_s: float = 15.0) -> None:
    """Poll ``function`` (JavaScript) in the page until it is truthy.

    Not ``page.wait_for_function``: Playwright evaluates its predicate with ``eval`` inside the
    page, which the app's Content-Security-Policy (no ``unsafe-eval``) rightly refuses;
    ``page.evaluate`` goes through the DevTools protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{function} stayed false for {timeout_s} s")
        time.sleep(0.05)


def csp_violation(text: str, errors: list[str]) -> None:
    if "Refused to" in text or "Content Security Policy" in text:
        errors.append("CSP: " + text)


def screenshot(
    page: Any, name: str, *, directory: Path = SCREENSHOTS, full_page: bool = False
) -> Path:
    """Save a screenshot as a test artefact (``artifacts/screenshots``, gitignored, unless
    ``directory`` says otherwise)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    # Let slide-in animations and fades settle, so the picture shows what a user sees.
    wait_in_page(page, "() => document.getAnimations().every(a => a.playState !== 'running')")
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One rendered clip per test tag (ffmpeg from the imageio-ffmpeg wheel), made once."""
    from recomind.web import media
    from tests.web.helpers import TAGS

    try:
        return media.render_clips(TAGS, tmp_path_factory.mktemp("clips"))
    except media.MediaUnavailableError as exc:
        unavailable("ffmpeg (pip install imageio-ffmpeg)", exc)
        raise


def install_media(api: Api, clips: dict[str, Path], videos: list[dict[str, Any]]) -> None:
    """Make each video's ``/media/...`` url a hard link to its tag's clip in the app's media dir."""
    from recomind.web import media

    media_dir = api.settings.media_dir
    assert media_dir is not None
    (media_dir / "demo").mkdir(parents=True, exist_ok=True)
    wanted = [(v["url"].removeprefix("/media/"), v["tags"][0]) for v in videos]
    media.link_videos(media_dir, clips, wanted)
