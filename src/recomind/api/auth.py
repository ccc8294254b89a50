"""The auth layer: an outermost ASGI middleware that authenticates ``Authorization: Bearer``
and applies the route policy (:mod:`recomind.api.access`) before anything else runs, the
cache-hit path (:mod:`recomind.api.hit_path`) included.

A bearer string is the master key (``RECOMIND_MASTER_KEY``), an API key ``rmk_<id>_<secret>``
or else a user token (:mod:`recomind.api.tokens`). A key's row is read from the database once
and then trusted for ``RECOMIND_KEY_CACHE_S`` seconds (so a revoked key stops working within
that time): after the first request a key costs a dict lookup, a SHA-256 and a constant-time
compare. If the database does not answer when a key's window ends, the row read before goes
on being trusted; a key never read before gets 503. No or a bad credential: 401 with
``WWW-Authenticate: Bearer``; a credential that may not do this: 403. The principal is left
in ``scope["state"]["recomind_principal"]`` (:mod:`recomind.api.principal`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from recomind.api.access import Denied, Policy, decide
from recomind.api.errors import error_body
from recomind.api.principal import ANONYMOUS, MASTER, Principal, set_principal
from recomind.api.state import AppState
from recomind.api.tokens import TokenError, token_user
from recomind.credentials import same_digest, secret_digest, split_key
from recomind.schemas import utcnow
from recomind.storage.api_keys import ApiKey, get_key, touch_key
from recomind.storage.engine import read_tx, write_tx

logger = logging.getLogger(__name__)

TOKEN_CACHE_MAX = 10_000  # user tokens remembered after their first check
KEY_CACHE_MAX = 10_000  # distinct key ids remembered (unknown ones too), then forgotten
KEY_READS_AT_ONCE = 4
TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often per key and process
_BEARER = b"bearer "


AUTH_FIELD = "header.authorization"


class Refused(Exception):
    """The credential cannot be used: answer ``denied``."""

    def __init__(self, denied: Denied) -> None:
        super().__init__(denied.message)
        self.denied = denied


class KeyUnavailableError(Exception):
    """The key's row could not be read and none was read before."""


class KeyCache:
    """API key rows by key id, each trusted for ``ttl_s`` after it was read."""

    def __init__(self, state: Callable[[], AppState], ttl_s: float) -> None:
        self.state = state
        self.ttl_s = ttl_s
        self._rows: dict[str, tuple[float, ApiKey | None]] = {}
        self._loading: dict[str, asyncio.Future[ApiKey | None]] = {}
        # At most this many key reads at once: a flood of made-up key ids queues here
        # instead of holding every thread and database connection.
        self._reads = asyncio.Semaphore(KEY_READS_AT_ONCE)

    async def get(self, key_id: str) -> ApiKey | None:
        cached = self._rows.get(key_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        pending = self._loading.get(key_id)
        if pending is not None:  # another request is reading this key: share its answer
            await asyncio.wait([pending])
            return await self.get(key_id) if pending.cancelled() else pending.result()
        future: asyncio.Future[ApiKey | None] = asyncio.get_running_loop().create_future()
        self._loading[key_id] = future
        try:
            async with self._reads:
                row = await run_in_threadpool(self._read, key_id)
        except Exception as exc:
            if cached is None:
                error = KeyUnavailableError(str(exc))
                future.set_exception(error)
                future.exception()  # marked retrieved; the waiters re-raise it
                raise error from exc
            logger.warning("API key %s: database not answering, trusting its last read", key_id)
            row = cached[1]
        except BaseException:  # this request was cancelled: a waiter reads the key itself
            future.cancel()
            raise
        finally:
            self._loading.pop(key_id, None)
        if len(self._rows) >= KEY_CACHE_MAX:
            self._rows.clear()
        self._rows[key_id] = (time.monotonic() + self.ttl_s, row)
        future.set_result(row)
        return row

    def _read(self, key_id: str) -> ApiKey | None:
        engine = self.state().engine
        with read_tx(engine) as conn:
            row = get_key(conn, key_id=key_id)
        if row is not None and row.active:
            now = utcnow()
            last = row.last_used_at
            if last is None or (now - last).total_seconds() > TOUCH_EVERY_S:
                try:
                    with write_tx(engine) as conn:
                        touch_key(conn, key_id=key_id, at=now)
                except SQLAlchemyError as exc:  # bookkeeping only: the key still works
                    logger.warning("API key %s: last_used_at not recorded: %r", key_id, exc)
        return row


def _bearer(scope: Scope) -> str | None:
    """The bearer string of the Authorization header; "" for another scheme or none."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() != _BEARER:
                return ""
            token: str = value[7:].strip().decode("latin-1")
            return token
    return None


async def _reply(
    send: Send, status: int, body: dict[str, object], extra: list[tuple[bytes, bytes]]
) -> None:
    raw = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(raw)),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


class AuthMiddleware:
    """ASGI middleware: authenticate, authorise by :class:`Policy`, record the principal."""

    def __init__(self, app: ASGIApp, state: Callable[[], AppState]) -> None:
        self.app = app
        self.state = state
        settings = state().settings
        self.settings = settings
        self.policy = Policy(settings)
        self.keys = KeyCache(state, settings.key_cache_s)
        master = settings.master_key
        self._master = secret_digest(master.get_secret_value()) if master else None
        self._master_is_key_shaped = master is not None and bool(
            split_key(master.get_secret_value())
        )
        self._tokens: dict[str, tuple[float, Principal]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        rule = self.policy.rule(scope["method"], path)
        token = _bearer(scope)
        try:
            if token:
                principal = await self._authenticate(token)
            elif token is None or rule.scope is None:
                principal = ANONYMOUS
            else:
                raise Refused(Denied(401, "expected the Bearer scheme", AUTH_FIELD))
        except Refused as refused:
            if rule.scope is not None:  # a bad credential on an open route is ignored
                await self._deny(send, refused.denied)
                return
            principal = ANONYMOUS
        denied = decide(rule, principal, path)
        if denied is not None:
            await self._deny(send, denied)
            return
        set_principal(scope, principal)
        await self.app(scope, receive, send)

    async def _authenticate(self, token: str) -> Principal:
        parts = split_key(token)
        if (
            self._master is not None
            and (parts is None or self._master_is_key_shaped)
            and same_digest(secret_digest(token), self._master)
        ):
            return MASTER
        if parts is None:
            return self._user(token)
        try:
            row = await self.keys.get(parts.key_id)
        except KeyUnavailableError:
            raise Refused(Denied(503, "the database is not answering; retry", AUTH_FIELD)) from None
        if row is None or not same_digest(secret_digest(parts.secret), row.secret_sha256):
            raise Refused(Denied(401, "unknown API key", AUTH_FIELD))
        if not row.active:
            raise Refused(Denied(401, "this API key was revoked", AUTH_FIELD))
        return Principal("key", key_id=row.key_id, scopes=row.scopes)

    def _user(self, token: str) -> Principal:
        """A user token's principal; a token checked before is not decoded again until its
        ``exp`` (a signed token cannot change, and there is no revoking one)."""
        known = self._tokens.get(token)
        if known is not None and known[0] > time.time():
            return known[1]
        try:
            user = token_user(self.settings, token)
        except TokenError as exc:
            raise Refused(Denied(401, str(exc), AUTH_FIELD)) from None
        principal = Principal("user", user_id=user.user_id)
        if len(self._tokens) >= TOKEN_CACHE_MAX:
            self._tokens.clear()
        self._tokens[token] = (user.expires_at, principal)
        return principal

    async def _deny(self, send: Send, denied: Denied) -> None:
        message = f"{denied.field}: {denied.message}"
        if denied.status == 401:
            code, extra = "unauthorized", [(b"www-authenticate", b'Bearer realm="recomind"')]
        elif denied.status == 503:
            code, extra = "database_unavailable", [(b"retry-after", b"5")]
        else:
            code, extra = "forbidden", []
        await _reply(send, denied.status, error_body(code, message, denied.field), extra)
