"""The web app: a short-video feed, sign-in, profile and an operator dashboard.

Plain HTML, CSS and ES modules in ``static/`` (no build step, nothing from a CDN), served by
the API itself: ``/`` is the app, ``/static/...`` its files and, when ``media_dir`` is set,
``/media/...`` the local video files (the demo's clips).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from recomind.config import Settings

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the web app at ``/`` (and ``/dashboard``) and local media at ``/media``."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> RedirectResponse:
        return RedirectResponse("/#/dashboard")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.media_dir is not None:
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
