"""End-user tokens: HS256 JWTs signed with ``RECOMIND_TOKEN_SECRET``.

``sub`` is the user id, ``exp`` is required, ``iss`` and ``aud`` must be the configured ones,
and ``RECOMIND_TOKEN_LEEWAY_S`` of clock skew is allowed. Only HS256 is accepted, so a token
saying ``alg: none`` (or any other algorithm) is refused. The app's backend mints these with
the shared secret (docs/security.md shows how); RecoMind mints them for the demo's sign-in.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jwt

from recomind.config import Settings
from recomind.schemas import ID_RE

ALGORITHM = "HS256"


class TokenUser(NamedTuple):
    user_id: str
    expires_at: float  # ``exp`` plus the leeway, seconds since the epoch


class TokenError(Exception):
    """A user token that cannot be trusted; the message says why (it goes into the 401)."""


def _secret(settings: Settings) -> str:
    if settings.token_secret is None:
        raise TokenError("user tokens are not accepted here (RECOMIND_TOKEN_SECRET is unset)")
    return settings.token_secret.get_secret_value()


def mint_token(
    settings: Settings, user_id: str, *, ttl_s: int | None = None, now: float | None = None
) -> str:
    """A signed token for ``user_id``, valid ``ttl_s`` (default ``token_ttl_s``) seconds."""
    if ID_RE.fullmatch(user_id) is None:
        raise ValueError(f"user_id: not a valid id: {user_id!r}")
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": user_id,
        "iat": issued,
        "exp": issued + (ttl_s if ttl_s is not None else settings.token_ttl_s),
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
    }
    return jwt.encode(claims, _secret(settings), algorithm=ALGORITHM)


def token_user(settings: Settings, token: str) -> TokenUser:
    """The user a valid token speaks for, and until when; :class:`TokenError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            _secret(settings),
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            leeway=settings.token_leeway_s,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the user token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"not a valid API key or user token ({exc})") from None
    sub = claims["sub"]
    if not isinstance(sub, str) or ID_RE.fullmatch(sub) is None:
        raise TokenError("the user token's sub is not a valid user id")
    return TokenUser(sub, float(claims["exp"]) + settings.token_leeway_s)
