"""The app factory: ``create_app(settings)`` wires state, routes, errors and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import make_asgi_app
from starlette.middleware.cors import CORSMiddleware

from recomind import __version__, web
from recomind.api import errors, online_metrics, openapi_auth, responses
from recomind.api.access import Policy
from recomind.api.auth import AuthMiddleware
from recomind.api.hit_path import CacheHitPath
from recomind.api.methods import MethodsLayer
from recomind.api.middleware import BodyLimitMiddleware, HeadLimitMiddleware, MetricsMiddleware
from recomind.api.request_limits import RequestLimits
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
from recomind.api.security_headers import SecurityHeaders
from recomind.api.state import AppState
from recomind.config import Settings, get_settings
from recomind.guard_settings import split_list
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
            "/video_action": settings.action_max_body_bytes,
        },
    )
    # Outermost last: security headers -> CORS -> head bounds -> auth -> rate limits -> hits
    # -> HEAD/OPTIONS -> body bounds -> metrics -> routes.
    app.add_middleware(MethodsLayer, api=app)  # HEAD, OPTIONS, Allow on 405
    app.add_middleware(CacheHitPath, state=lambda: app_state)  # hits skip the rest
    app.add_middleware(RequestLimits, limiter=app_state.request_limiter)  # hits are limited too
    openapi_auth.install(app, Policy(settings))
    responses.install(app, settings)  # wraps the schema openapi_auth builds: after it
    if settings.auth == "required":  # every request, hits too, is authenticated
        app.add_middleware(AuthMiddleware, state=lambda: app_state)
    app.add_middleware(
        HeadLimitMiddleware, max_headers=settings.max_header_bytes, max_url=settings.max_url_bytes
    )
    app.add_middleware(CORSMiddleware, **cors_options(settings))
    app.add_middleware(SecurityHeaders, settings=settings)  # on every response
    return app


def cors_options(settings: Settings) -> dict[str, Any]:
    """Starlette's CORS for ``RECOMIND_CORS_ORIGINS`` (none: every preflight is refused, the
    same-origin web app needs none). Credentials travel in ``Authorization``, not cookies."""
    return {
        "allow_origins": split_list(settings.cors_origins),
        "allow_methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "X-Request-ID"],
        "expose_headers": ["Retry-After", "X-Request-ID", "X-Cache", "X-RecoMind-Degraded"],
        "allow_credentials": False,
        "max_age": 600,
    }


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every uvicorn that serves the app is given (``recomind serve``, the tests' and the
    benchmarks' servers): no ``server: uvicorn`` banner; X-Forwarded-* read only by
    :mod:`recomind.api.proxies` (``RECOMIND_TRUSTED_PROXIES``), not by uvicorn's own default
    trust of 127.0.0.1; the h11 parser's head bounded as the app bounds it."""
    return {
        "server_header": False,
        "proxy_headers": False,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
