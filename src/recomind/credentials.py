"""API key format and digests: pure functions shared by the CLI, the demo, storage and the API.

A key reads ``rmk_<key_id>_<secret>``: ``key_id`` (12 hex digits) names the stored row,
``secret`` (32 random bytes, URL-safe base64) is shown once and only its SHA-256 digest is
kept. A fast digest is right here: the secret is 256 random bits, so there is nothing to
guess that a slow password hash would protect (as GitHub and Stripe store their tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import NamedTuple

PREFIX = "rmk_"
KEY_ID_HEX = 12  # hex digits of a key id
#: What each scope allows; ``admin`` implies the others (docs/security.md has the route table).
SCOPES = ("ingest", "read", "admin")


class KeyParts(NamedTuple):
    key_id: str
    secret: str


def secret_digest(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_key() -> tuple[KeyParts, str]:
    """A fresh key: its parts and the full ``rmk_...`` string to hand out once."""
    parts = KeyParts(secrets.token_hex(KEY_ID_HEX // 2), secrets.token_urlsafe(32))
    return parts, f"{PREFIX}{parts.key_id}_{parts.secret}"


def split_key(token: str) -> KeyParts | None:
    """``rmk_<key_id>_<secret>`` split, or ``None`` when the string is not shaped so (a key
    id is 12 lowercase hex digits: anything else is refused without a database read)."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not secret or len(key_id) != KEY_ID_HEX or key_id.strip(_HEX):
        return None
    return KeyParts(key_id, secret)


_HEX = "0123456789abcdef"


def check_scopes(scopes: list[str]) -> list[str]:
    """Sorted, de-duplicated scopes; ``ValueError`` naming an unknown one."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; expected {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError(f"at least one scope is needed ({', '.join(SCOPES)})")
    return sorted(set(scopes))
