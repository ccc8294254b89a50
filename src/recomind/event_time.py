"""When an event happened: the one check of a client's timestamp, for every way events come in.

Every timestamp is stored as naive UTC. A client may send any offset (converted to UTC here)
or none (read as UTC). The live endpoint accepts events from the last ``max_age_s`` up to
``max_future_s`` ahead of the server's clock (clients' clocks drift); bulk paths load
history, so they pass ``max_age_s=None``. :func:`not_after` is the read side's guard: a stored
time far in the future (a row written before the check existed) is read as ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: How far in the future a *stored* time may lie before readers treat it as ``now``: well
#: above any sane ``RECOMIND_EVENT_MAX_FUTURE_S``, so only rows that skipped the check move.
STORED_FUTURE_TOLERANCE_S = 86_400.0


def _naive_utc(ts: datetime) -> datetime:
    """``ts`` as naive UTC; ``ValueError`` when the conversion leaves years 1-9999."""
    if ts.tzinfo is None:
        return ts
    try:
        return ts.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise ValueError(
            f"{ts.isoformat()} is outside years 1-9999 once converted to UTC"
        ) from None


def _shift(at: datetime, seconds: float) -> datetime:
    """``at + seconds``, saturating at the datetime range instead of raising."""
    try:
        return at + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max if seconds > 0 else datetime.min


def _span(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} s"


def iso_utc(ts: datetime) -> str:
    """``2026-11-30T07:00:00Z``: a naive-UTC (or aware) time as ISO-8601 with ``Z``."""
    return _naive_utc(ts).isoformat() + "Z"


def check_event_time(
    ts: datetime | None, *, now: datetime, max_future_s: float, max_age_s: float | None
) -> datetime:
    """The event time to store: ``ts`` as naive UTC, or ``now`` when the client sent none.

    Parameters
    ----------
    ts
        The client's timestamp; naive means UTC, an offset is converted.
    now
        The server's clock (naive UTC, or aware).
    max_future_s
        How far ahead of ``now`` a timestamp may be (client clock skew).
    max_age_s
        How far behind ``now`` it may be; ``None`` for no lower bound (history imports).

    Returns
    -------
    datetime
        Naive UTC.

    Raises
    ------
    ValueError
        With a message saying what was expected, when ``ts`` is more than ``max_future_s``
        ahead of ``now``, more than ``max_age_s`` behind it, or outside years 1-9999 in UTC.
    """
    now = _naive_utc(now)
    if ts is None:
        return now
    at = _naive_utc(ts)
    latest = _shift(now, max_future_s)
    if at > latest:
        raise ValueError(
            f"expected a time at most {_span(max_future_s)} ahead of the server's clock "
            f"(until {iso_utc(latest)}), got {iso_utc(at)}"
        )
    if max_age_s is not None:
        earliest = _shift(now, -max_age_s)
        if at < earliest:
            raise ValueError(
                f"expected a time within the last {_span(max_age_s)} (since "
                f"{iso_utc(earliest)}), got {iso_utc(at)}; load older events in bulk"
            )
    return at


def not_after(
    ts: datetime, *, now: datetime, tolerance_s: float = STORED_FUTURE_TOLERANCE_S
) -> datetime:
    """A stored time as readers should use it: ``now`` if it lies beyond ``now + tolerance_s``.

    Folds and trending read decayed scores "as of" a stored time; one written far in the future
    (before events were checked) would freeze a score or wipe a profile for years.
    """
    return now if ts > _shift(now, tolerance_s) else ts
