"""Request, response and event models shared by the API, storage and stream."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
)

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
ID_RE = re.compile(ID_PATTERN)
ID_RULE = "1-128 characters of letters, digits, '_', '.', ':' or '-'"
ID_MAX = 128

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]

#: "Holds a character that is not white space": ``\s`` of JSON Schema (ECMA-262) and of
#: pydantic (Unicode White_Space) differ by U+0085 and U+FEFF, so both are named; text fields
#: are stripped, and a stripped-empty text is refused by the schema and the server alike.
NOT_BLANK = r"[^\s\u0085\ufeff]"
#: A tag holds a character that neither ``#`` nor white space (Python's, which adds
#: U+001C..U+001F, as :func:`normalize_tag` strips) is.
TAG_PATTERN = r"[^\s\u0085\ufeff\x1c-\x1f#]"
TAG_MAX = 64
TAGS_MAX = 50


def Text(max_length: int) -> StringConstraints:
    """A stripped text of 1..``max_length`` characters that is not only white space."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=NOT_BLANK
    )


#: ``unlike`` takes a like back (a like is a state per user and video: see recomind.weights).
ActionType = Literal["view", "like", "skip", "unlike"]
ACTION_TYPES: tuple[str, ...] = ("view", "like", "skip", "unlike")
#: Longest watch time an action may carry (one day), whatever the video.
MAX_WATCH_TIME_MS = 86_400_000


def normalize_tag(tag: str) -> str:
    """``'#Funny '`` -> ``'funny'``: tags are compared lower-case without the hash."""
    return tag.strip().lstrip("#").strip().lower()


def _clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        n = normalize_tag(t)
        if not n:
            raise ValueError("a tag must have at least one character besides '#' and spaces")
        if n not in out:
            out.append(n)
    return out


#: As sent: 1..64 characters each (lower-casing may lengthen a few letters, e.g. U+0130).
Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_MAX, pattern=TAG_PATTERN)]
Tags = Annotated[list[Tag], Field(max_length=TAGS_MAX), AfterValidator(_clean_tags)]


def utcnow() -> datetime:
    """Naive UTC now: every timestamp is stored as naive UTC on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(ts: datetime) -> datetime:
    """``ts`` in UTC without a zone (a naive ``ts`` is taken as UTC already)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def _utc_in(ts: datetime) -> datetime:
    try:
        return to_naive_utc(ts)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00: past year 9999 in UTC
        raise ValueError("expected a date-time within years 1-9999 in UTC") from None


def _utc_out(ts: datetime) -> str:
    return to_naive_utc(ts).isoformat() + "Z"


#: A time held as naive UTC (any offset converted when read; a naive value is UTC) and written
#: to JSON as ISO-8601 with ``Z``: every datetime the API returns carries its zone.
UtcDatetime = Annotated[
    datetime,
    AfterValidator(_utc_in),
    PlainSerializer(_utc_out, return_type=str, when_used="json"),
]

_ISO_DATETIME = re.compile(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _][0-9]{2}:[0-9]{2}")


_ZONE = re.compile(r"(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})\s*$")
#: Validation context key: a string without a zone reads as UTC (the importer's files).
NAIVE_IS_UTC = "naive_is_utc"


def _iso_datetime_only(value: object, info: ValidationInfo) -> object:
    """Refuse numbers, booleans, dates without a time and digit strings (a unix time in a
    client's body hides whether it meant seconds or milliseconds), and, from a client, a time
    without a zone (RFC 3339 ``date-time``: ``Z`` or an offset)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        if _ZONE.search(value) or (info.context or {}).get(NAIVE_IS_UTC):
            return value
        raise ValueError(f"expected a zone (Z or an offset such as +05:00) at the end of {value!r}")
    raise ValueError(
        "expected an ISO-8601 date and time with a zone, such as 2026-11-30T12:00:00Z or "
        "2026-11-30T17:00:00+05:00"
    )


def _number_not_bool_or_text(value: object) -> object:
    """JSON ``true`` and ``"1500"`` are client bugs, not watch times (``1500.0`` is a number)."""
    if isinstance(value, bool | str):
        raise ValueError("expected a whole number of milliseconds (a JSON number)")
    return value


#: A client's time: an ISO-8601 string with ``Z`` or an offset (converted to UTC); no number,
#: no boolean, no zone-less string (the importer reads those as UTC: :data:`NAIVE_IS_UTC`).
EventTime = Annotated[datetime, BeforeValidator(_iso_datetime_only), AfterValidator(_utc_in)]


class StrictModel(BaseModel):
    """A request body: unknown fields are refused; text fields strip themselves (ids do not:
    an id with a space is a wrong id)."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(StrictModel):
    user_id: Id | None = None
    name: Annotated[str, Text(200)]


class User(BaseModel):
    user_id: str
    name: str
    created_at: UtcDatetime


class VideoCreate(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "A new clip",
                    "url": "https://cdn.example/new.mp4",
                    "tags": ["#Funny"],
                    "duration_s": 30,
                }
            ]
        },
    )

    video_id: Id | None = None
    title: Annotated[str, Text(500)]
    url: Annotated[str, Text(2048)]
    tags: Tags = Field(default_factory=list)
    creator_id: Id | None = None
    #: A JSON number (``true`` and ``"30"`` are refused).
    duration_s: Annotated[float, Field(strict=True, gt=0, le=86_400)] | None = None
    created_at: EventTime | None = None


VIDEO_BATCH_MAX = 5000


class VideoBatch(StrictModel):
    videos: Annotated[list[VideoCreate], Field(min_length=1, max_length=VIDEO_BATCH_MAX)]


class Video(BaseModel):
    video_id: str
    title: str
    url: str
    tags: list[str]
    creator_id: str | None = None
    duration_s: float | None = None
    created_at: UtcDatetime


class ActionCreate(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "u2", "video_id": "v1", "action_type": "like"}]
        },
    )

    user_id: Id
    video_id: Id
    action_type: ActionType
    #: Checked against the server's clock by :func:`recomind.event_time.check_event_time`.
    timestamp: EventTime | None = Field(
        default=None,
        description="When it happened (default: when received), with Z or an offset. "
        "POST /video_action takes the last RECOMIND_EVENT_MAX_AGE_S (1 day) up to "
        "RECOMIND_EVENT_MAX_FUTURE_S ahead of the server's clock (else 422); the batch "
        "endpoint takes any past time.",
    )
    #: A JSON number (``true`` or ``"5"`` is a client bug, not a watch time); the route also
    #: bounds it by the video's duration.
    watch_time_ms: (
        Annotated[int, Field(ge=0, le=MAX_WATCH_TIME_MS), BeforeValidator(_number_not_bool_or_text)]
        | None
    ) = None


class ActionEvent(BaseModel):
    """The message on ``video_actions_stream``: the design's JSON plus ids and watch time."""

    model_config = ConfigDict(extra="ignore")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    user_id: Id
    video_id: Id
    action_type: ActionType
    timestamp: UtcDatetime
    watch_time_ms: Annotated[int, Field(ge=0)] | None = None
    #: Came through a bulk path (batch endpoint, importer): its id is the client's or derived
    #: from the row, so the same event may be sent again; popularity and profiles claim such
    #: ids (``event_claims``) and count each once. Left out of the message when false.
    bulk: bool = False

    def to_json(self) -> bytes:
        """The message value: the design's JSON, timestamps as ISO-8601 UTC with ``Z``."""
        doc = dict(self.__dict__)  # every field; plain values orjson writes as JSON does
        doc["timestamp"] = to_naive_utc(self.timestamp).isoformat(timespec="microseconds") + "Z"
        if not self.bulk:
            del doc["bulk"]
        return orjson.dumps(doc)

    @staticmethod
    def message(
        *,
        event_id: str,
        user_id: str,
        video_id: str,
        action_type: str,
        timestamp: datetime,
        watch_time_ms: int | None,
    ) -> bytes:
        """``ActionEvent(...).to_json()`` of a live (not bulk) action whose fields were
        validated already (an ``ActionCreate`` and a checked naive-UTC time): the same bytes
        without validating them again."""
        return orjson.dumps(
            {
                "event_id": event_id,
                "user_id": user_id,
                "video_id": video_id,
                "action_type": action_type,
                "timestamp": to_naive_utc(timestamp).isoformat(timespec="microseconds") + "Z",
                "watch_time_ms": watch_time_ms,
            }
        )


class ActionAccepted(BaseModel):
    event_id: str
    status: Literal["accepted"] = "accepted"


ACTION_BATCH_MAX = 10_000


class BatchAction(ActionCreate):
    """One item of ``POST /video_actions/batch``: a ``POST /video_action`` body plus the
    client's own event id (re-sending an item with the same id counts it once)."""

    event_id: Id | None = None


class ActionBatch(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "actions": [
                        {
                            "user_id": "u3",
                            "video_id": "v2",
                            "action_type": "view",
                            "watch_time_ms": 12000,
                            "event_id": "example-1",
                        }
                    ]
                }
            ]
        },
    )

    actions: Annotated[list[BatchAction], Field(min_length=1, max_length=ACTION_BATCH_MAX)]


class BatchItemResult(BaseModel):
    """What became of one item: ``accepted`` (on the bus), ``duplicate`` (its event id was
    accepted before, or earlier in the batch: counted once) or ``rejected`` (``field`` and
    ``message`` say why; nothing was published for it)."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    event_id: str | None = None
    field: str | None = None
    message: str | None = None


class BatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemResult]


class RecommendedVideo(BaseModel):
    """One item of ``GET /recommendations``: the design's sample plus score and reason."""

    video_id: str
    title: str
    url: str
    tags: list[str]
    creator_id: str | None = None
    duration_s: float | None = None
    score: float
    reason: str


_RECOMMENDED_FIELDS = frozenset(RecommendedVideo.model_fields)
_set_attr = object.__setattr__


def recommended(v: Video, score: float, reason: str) -> RecommendedVideo:
    """What ``RecommendedVideo.model_construct`` builds, without its per-field loop.

    Trusted fields from stored rows: no re-validation (100 items per user and request, a
    million per precompute of 10,000 users).
    """
    item = RecommendedVideo.__new__(RecommendedVideo)
    _set_attr(
        item,
        "__dict__",
        {
            "video_id": v.video_id,
            "title": v.title,
            "url": v.url,
            "tags": v.tags,
            "creator_id": v.creator_id,
            "duration_s": v.duration_s,
            "score": round(score, 6),
            "reason": reason,
        },
    )
    _set_attr(item, "__pydantic_fields_set__", set(_RECOMMENDED_FIELDS))
    _set_attr(item, "__pydantic_extra__", None)
    _set_attr(item, "__pydantic_private__", None)
    return item


class Profile(BaseModel):
    user_id: str
    top_tags: list[str]
    tag_weights: dict[str, float]
    updated_at: UtcDatetime | None = None
