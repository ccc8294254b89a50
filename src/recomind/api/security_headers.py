"""Security headers on every response (the outermost layer: routes, cache hits, errors, files).

A Content-Security-Policy fit for the web app (its scripts, styles and icons are its own files:
no inline script, no CDN; ``style`` attributes are set through the CSSOM, which CSP allows; video
URLs may point at ``RECOMIND_CSP_MEDIA_SRC``), a looser one for FastAPI's ``/docs`` and
``/redoc`` pages (their inline bootstrap script and CDN assets), ``frame-ancestors 'none'`` with
``X-Frame-Options: DENY``, ``nosniff``, a referrer policy, and HSTS on requests that came over
TLS (``RECOMIND_HSTS``; a trusted proxy's ``X-Forwarded-Proto`` counts).
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recomind.api.proxies import TrustedProxies
from recomind.config import Settings

#: FastAPI's documentation pages load Swagger UI and ReDoc from jsDelivr with an inline script.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_CDN = "https://cdn.jsdelivr.net"
_JSON = (b"content-type", b"application/json")
_INTERNAL = orjson.dumps({"error": "internal_error", "message": "internal server error"})


def app_policy(media_src: str) -> str:
    """The web app's policy: everything from this origin, media also from ``media_src``."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"media-src {media_src}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {_CDN}",
        f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "font-src 'self' https://fonts.gstatic.com",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self._app_headers = [
            (b"content-security-policy", app_policy(settings.csp_media_src).encode()),
            *common,
        ]
        self._docs_headers = [(b"content-security-policy", DOCS_POLICY.encode()), *common]
        self._hsts = (b"strict-transport-security", b"max-age=%d" % settings.hsts_max_age_s)
        self._hsts_mode = settings.hsts
        self._proxies = TrustedProxies(settings.trusted_proxies)

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = self._docs_headers if scope["path"] in DOCS_PATHS else self._app_headers
        if self._hsts_mode == "always" or (
            self._hsts_mode == "auto" and self._proxies.scheme(scope) == "https"
        ):
            headers = [*headers, self._hsts]
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's error middleware is outside this one: answer the 500 here, in the
            # JSON error shape and with the headers, and let it log the error (it sees the
            # response started and sends nothing more).
            if not started:
                headers = [_JSON, (b"content-length", b"%d" % len(_INTERNAL)), *extra]
                await send({"type": "http.response.start", "status": 500, "headers": headers})
                await send({"type": "http.response.body", "body": _INTERNAL})
            raise
