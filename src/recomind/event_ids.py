"""Event ids of the bulk paths: the client's own id, or one derived from the event itself.

An event's id is what makes it count once (``video_actions``' primary key, the consumers'
``event_claims``, the lake readers' de-duplication), so the bulk paths give every event a
stable id: sending the same batch or file again produces the same ids.

* A client id that is a UUID is used as is (so events exported from RecoMind, whose ids are
  UUIDs, are recognised when loaded again).
* Any other client id (the API's id rule: 1-128 characters) maps to a UUID-5 of it.
* A row without an id (``recomind import actions``) gets a UUID-5 of its fields.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

#: The namespace of every derived id (a fixed, random UUID: never change it, or ids change).
NAMESPACE = uuid.UUID("6f0c7d5e-2f4b-4d43-9a55-1f0a3c9e8b21")
_NAMESPACE_BYTES = NAMESPACE.bytes


def uuid5(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))`` without the ``UUID`` object (an import derives
    one per row)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def client_event_id(client_id: str) -> str:
    """The event id for a client's id: the UUID itself (canonical form), else its UUID-5."""
    if len(client_id) in (32, 36, 38, 45):  # the spellings uuid.UUID accepts
        try:
            return str(uuid.UUID(client_id))
        except ValueError:
            pass
    return uuid5("client:" + client_id)


def derived_event_id(
    *,
    user_id: str,
    video_id: str,
    action_type: str,
    timestamp: datetime,
    watch_time_ms: int | None,
) -> str:
    """A UUID-5 of the event's fields (``timestamp`` naive UTC): the same row, the same id."""
    parts = (
        user_id,
        video_id,
        action_type,
        timestamp.isoformat(timespec="microseconds"),
        "" if watch_time_ms is None else str(watch_time_ms),
    )
    return uuid5("row:" + "\x1f".join(parts))
