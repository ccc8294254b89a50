"""The one check of an event's time (``recomind.event_time``) and the zone-aware schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from recomind.event_time import check_event_time, iso_utc, not_after
from recomind.schemas import ActionEvent, Profile, User, VideoCreate

NOW = datetime(2026, 11, 30, 12, 0, 0)
PLUS5 = timezone(timedelta(hours=5))


def check(ts: datetime | None, max_age_s: float | None = 86_400.0) -> datetime:
    return check_event_time(ts, now=NOW, max_future_s=300.0, max_age_s=max_age_s)


def test_offsets_are_converted_and_naive_means_utc() -> None:
    assert check(datetime(2026, 11, 30, 12, 0, tzinfo=PLUS5)) == datetime(2026, 11, 30, 7, 0)
    assert check(datetime(2026, 11, 30, 7, 0)) == datetime(2026, 11, 30, 7, 0)
    assert check(None) == NOW
    aware_now = check_event_time(None, now=NOW.replace(tzinfo=UTC), max_future_s=0, max_age_s=None)
    assert aware_now == NOW and aware_now.tzinfo is None


def test_bounds_are_inclusive_and_messages_say_what_was_expected() -> None:
    assert check(NOW + timedelta(seconds=300)) == NOW + timedelta(seconds=300)
    assert check(NOW - timedelta(days=1)) == NOW - timedelta(days=1)
    with pytest.raises(ValueError, match=r"at most 5 minutes ahead .* got 2099-01-01T00:00:00Z"):
        check(datetime(2099, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"within the last 1 day .*bulk"):
        check(NOW - timedelta(days=1, seconds=1))
    # History (bulk paths): no lower bound, the same upper one.
    assert check(datetime(1970, 1, 1), max_age_s=None) == datetime(1970, 1, 1)
    with pytest.raises(ValueError, match="ahead"):
        check(NOW + timedelta(minutes=6), max_age_s=None)


def test_extreme_times_are_value_errors_not_crashes() -> None:
    with pytest.raises(ValueError, match="years 1-9999"):
        check(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))
    with pytest.raises(ValueError, match="years 1-9999"):
        check(datetime(1, 1, 1, 0, 0, tzinfo=PLUS5))
    with pytest.raises(ValueError):
        check(datetime.max)
    with pytest.raises(ValueError):
        check(datetime.min)
    far = check_event_time(datetime.max, now=NOW, max_future_s=1e12, max_age_s=1e12)
    assert far == datetime.max  # bounds past the calendar saturate instead of overflowing


def test_not_after_reads_far_future_rows_as_now() -> None:
    assert not_after(datetime(2099, 1, 1), now=NOW) == NOW
    assert not_after(NOW + timedelta(minutes=5), now=NOW) == NOW + timedelta(minutes=5)
    assert not_after(datetime(2020, 1, 1), now=NOW) == datetime(2020, 1, 1)


def test_every_datetime_goes_out_with_its_zone() -> None:
    assert iso_utc(datetime(2026, 11, 30, 12, 0, tzinfo=PLUS5)) == "2026-11-30T07:00:00Z"
    user = User(user_id="u", name="U", created_at=datetime(2026, 11, 30, 7, 0, 0, 5))
    assert user.model_dump(mode="json")["created_at"] == "2026-11-30T07:00:00.000005Z"
    assert user.created_at.tzinfo is None  # held as naive UTC, like storage
    profile = Profile.model_validate_json(
        b'{"user_id": "u", "top_tags": [], "tag_weights": {},'
        b' "updated_at": "2026-11-30T12:00:00+05:00"}'
    )
    assert profile.updated_at == datetime(2026, 11, 30, 7, 0)
    assert profile.model_dump(mode="json")["updated_at"] == "2026-11-30T07:00:00Z"


def test_offsets_on_the_bus_and_in_uploads_are_converted_too() -> None:
    event = ActionEvent.model_validate_json(
        b'{"event_id": "e1", "user_id": "u", "video_id": "v", "action_type": "like",'
        b' "timestamp": "2026-11-30T12:00:00+05:00"}'
    )
    assert event.timestamp == datetime(2026, 11, 30, 7, 0)
    assert orjson.loads(event.to_json())["timestamp"] == "2026-11-30T07:00:00.000000Z"
    video = VideoCreate(title="t", url="u", created_at="2026-11-30T12:00:00+05:00")  # type: ignore[arg-type]
    assert video.created_at == datetime(2026, 11, 30, 7, 0)
