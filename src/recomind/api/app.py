"""The app factory: ``create_app(settings)`` wires state, routes, errors and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import make_asgi_app

from recomind import __version__, web
from recomind.api import errors, online_metrics, openapi_auth
from recomind.api.access import Policy
from recomind.api.auth import AuthMiddleware
from recomind.api.hit_path import CacheHitPath
from recomind.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from recomind.api.routes import (
    actions,
    activity,
    bulk_actions,
    erasure,
    experiments,
    health,
    models,
    recommendations,
    sign_in,
    stats,
    users,
    videos,
)
from recomind.api.state import AppState
from recomind.config import Settings, get_settings
from recomind.serving.online_figures import load_figures


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or get_settings()
    app_state = state or AppState.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await app_state.start()
        yield
        await app_state.stop()

    app = FastAPI(
        title="RecoMind",
        version=__version__,
        description="Personalized top-N feeds for short-video apps.",
        lifespan=lifespan,
    )
    app.state.recomind = app_state
    errors.install(app)
    for module in (
        recommendations,
        actions,
        bulk_actions,
        videos,
        users,
        activity,
        stats,
        models,
        health,
        sign_in,
        erasure,
        experiments,
    ):
        app.include_router(module.router)
    figures = online_metrics.AppRegistry(lambda: load_figures(app_state.cache, app_state.settings))
    app.mount("/metrics", make_asgi_app(registry=figures))
    web.install(app, settings)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        routes={
            "/videos/batch": settings.videos_batch_max_body_bytes,
            "/video_actions/batch": settings.actions_batch_max_body_bytes,
        },
    )
    app.add_middleware(CacheHitPath, state=lambda: app_state)  # hits skip the rest
    openapi_auth.install(app, Policy(settings))
    if settings.auth == "required":  # outermost: every request, hits too, is authenticated
        app.add_middleware(AuthMiddleware, state=lambda: app_state)
    return app
