"""The design's five tables (plus a few columns the service needs), as SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    true,
)

from recomind.storage.types import TagList, Timestamp

ID_LEN = 128

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(ID_LEN), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

videos = Table(
    "videos",
    metadata,
    Column("video_id", String(ID_LEN), primary_key=True),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("tags", TagList, nullable=False),
    Column("creator_id", String(ID_LEN), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("duration_s", Double, nullable=True),
    # False: taken down (``DELETE /videos/{id}``); served nowhere, trained on never; reversible.
    Column("active", Boolean, nullable=False, server_default=true()),
    Index(None, "created_at"),
    Index(None, "creator_id"),
)

video_actions = Table(
    "video_actions",
    metadata,
    # The server-made event id (UUID): a redelivered event hits the primary key, never a 2nd row.
    Column("id", String(36), primary_key=True),
    Column("user_id", String(ID_LEN), nullable=False),
    Column("video_id", String(ID_LEN), nullable=False),
    Column("action_type", String(8), nullable=False),
    Column("timestamp", Timestamp, nullable=False),
    Column("watch_time_ms", Integer, nullable=True),
    Index(None, "user_id", "timestamp"),
    Index(None, "video_id"),
    Index(None, "timestamp"),
)

user_profiles = Table(
    "user_profiles",
    metadata,
    Column("user_id", String(ID_LEN), primary_key=True),
    Column("top_tags", TagList, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    # Decayed weight per tag as of updated_at; top_tags are its best positive entries.
    Column("tag_weights", JSON, nullable=False),
)

video_popularity = Table(
    "video_popularity",
    metadata,
    Column("video_id", String(ID_LEN), primary_key=True),
    # Decayed score as of last_updated (half-life in settings).
    Column("score", Double, nullable=False),
    Column("last_updated", Timestamp, nullable=False),
    Column("n_events", Integer, nullable=False, server_default="0"),
    Index(None, "score"),
)

action_states = Table(
    "action_states",
    metadata,
    # Per fold ("popularity", "profiles"), what one user's actions on one video can still
    # count (recomind.weights.pair_state): written in the same transaction as the fold and
    # its consumer offsets, so a like counts once and an unlike takes it back, exactly once.
    Column("fold", String(16), primary_key=True),
    Column("user_id", String(ID_LEN), primary_key=True),
    Column("video_id", String(ID_LEN), primary_key=True),
    # [[action_type, microseconds since the epoch, weight], ...]
    Column("acts", JSON, nullable=False),
)

# -- stream bookkeeping ---------------------------------------------------------------------

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    # Next offset each consumer group has applied, stored in the same transaction as its
    # effect: a redelivered message is recognised and skipped, so effects happen once.
    Column("group_id", String(64), primary_key=True),
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

retrain_signals = Table(
    "retrain_signals",
    metadata,
    # A request to the training job: after N new events or T minutes (retrain-trigger group).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Timestamp, nullable=False),
    Column("reason", String(255), nullable=False),
    Column("events", Integer, nullable=False),
    Column("consumed_at", Timestamp, nullable=True),
    Index(None, "consumed_at"),
)

event_claims = Table(
    "event_claims",
    metadata,
    # Event ids a consumer group has applied: a message may come again (a producer retry, a
    # re-sent batch, a re-read after an offset reset) and is then counted once. A live
    # event's claim expires (it can only come again while the bus keeps it); a bulk one's not.
    Column("group_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("expires_at", Timestamp, nullable=True),
    Index(None, "expires_at"),
)

# -- access -----------------------------------------------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    # Server-to-server keys ``rmk_<key_id>_<secret>``: only the secret's SHA-256 is kept.
    Column("key_id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    # Space-separated, sorted: "admin ingest read".
    Column("scopes", String(255), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    Column("last_used_at", Timestamp, nullable=True),
)

# -- erasure and takedown (docs/erasure.md) --------------------------------------------------

erasures = Table(
    "erasures",
    metadata,
    # One row per erased user: the SHA-256 of their id (never the id itself), so consumers can
    # drop the user's events still in flight (dated at or before ``erased_at``).
    Column("subject_hash", String(64), primary_key=True),
    Column("erased_at", Timestamp, nullable=False),
    Column("receipt_id", String(36), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", Timestamp, nullable=False),
    # Who: ``key:{key_id}``, ``user:{user_id}``, ``master`` or ``anonymous``.
    Column("actor", String(255), nullable=False),
    # What: ``erase_user``, ``takedown_video``, ``restore_video``.
    Column("action", String(32), nullable=False),
    # On what: ``video:{id}``, or ``user-sha256:{hash}`` (an erased user's id is not kept).
    Column("target", String(255), nullable=False),
    Column("summary", JSON, nullable=False),
    Index(None, "at"),
)

# -- experiments (docs/experiments.md) -------------------------------------------------------

experiments = Table(
    "experiments",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("surface", String(64), nullable=False),
    # running / stopped / shipped
    Column("status", String(16), nullable=False),
    # The surface while running, NULL after: the unique index makes "one running experiment
    # per surface" the database's rule (NULLs never collide, on every backend).
    Column("running_on", String(64), nullable=True, unique=True),
    # [{"name", "ranker", "weight"}, ...], the first is control
    Column("variants", JSON, nullable=False),
    Column("salt", String(128), nullable=False),
    Column("horizon_users", Integer, nullable=False),
    Column("primary_metric", String(32), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("stopped_at", Timestamp, nullable=True),
    Column("shipped_variant", String(64), nullable=True),
)
