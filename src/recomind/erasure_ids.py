"""The one way an erased user is named after the erasure: the SHA-256 of their id.

The database (``erasures``, ``audit_log``) and the lake's tombstones keep this hash, never the
id itself, so a scan for the id finds nothing, while a copy of one of the user's events that
turns up later (still in flight on the bus, a re-read of an old file) is still recognised.
"""

from __future__ import annotations

import hashlib


def subject_hash(user_id: str) -> str:
    """``sha256(user_id)`` as 64 hex digits."""
    return hashlib.sha256(user_id.encode()).hexdigest()
