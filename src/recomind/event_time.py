"""The one check of an event's time: not beyond now plus a skew, optionally not too old.

Shared by every path that accepts actions (the live endpoint, the batch endpoint, the
importer), so they agree on what a valid event time is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def check_event_time(
    ts: datetime | None, *, now: datetime, max_future_s: float, max_age_s: float | None
) -> datetime:
    """The event time as naive UTC, or ``ValueError`` naming what was expected.

    Parameters
    ----------
    ts
        The client's timestamp; one with an offset is converted to UTC, a naive one is taken
        as UTC. ``None``: the event happened ``now``.
    now
        The server's time (naive UTC, or aware).
    max_future_s
        How far ahead of ``now`` an event may be (clock skew).
    max_age_s
        How far behind ``now`` it may be; ``None``: any age (historical imports).
    """
    now = _naive_utc(now)
    if ts is None:
        return now
    at = _naive_utc(ts)
    latest = _shift(now, max_future_s)
    if latest is not None and at > latest:
        raise ValueError(
            f"expected a time no later than {_iso(latest)} (now + {max_future_s:g} s), "
            f"got {_iso(at)}"
        )
    if max_age_s is not None:
        earliest = _shift(now, -max_age_s)
        if earliest is not None and at < earliest:
            raise ValueError(
                f"expected a time no earlier than {_iso(earliest)} (now - {max_age_s:g} s), "
                f"got {_iso(at)}"
            )
    return at


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _shift(now: datetime, seconds: float) -> datetime | None:
    """``now + seconds``, or ``None`` when that falls outside the calendar (no bound)."""
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds") + "Z"
