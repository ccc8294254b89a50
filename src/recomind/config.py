"""One settings object for the whole service; every knob has an env var ``RECOMIND_...``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recomind import weights
from recomind.auth_settings import AuthSettings

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings, AuthSettings):
    """Service configuration, read from the environment (prefix ``RECOMIND_``) or ``.env``."""

    model_config = SettingsConfigDict(env_prefix="RECOMIND_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'recomind.db'}",
        description="postgresql://..., mysql://... or sqlite:///path (embedded default).",
    )
    cache_url: str = Field(default="memory://", description="redis://... or memory://")
    cache_prefix: str = Field(default="", description="Prefix of every cache key (tests, tenants).")
    cache_timeout_s: float = Field(
        default=0.25,
        gt=0,
        description="How long a request waits on Redis before serving without it.",
    )

    event_bus_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'bus.db'}",
        description="kafka://host:port[,host:port] or sqlite:///path (embedded, durable).",
    )
    kafka_topic: str = "video_actions_stream"
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_client_id: str = "recomind"
    kafka_idempotent_producer: bool = Field(
        default=True,
        description="Produce with Kafka's idempotence (the broker drops a batch sent again "
        "after a lost ack). Turn off only for a broker that does not support it; the "
        "consumers still count each event id once.",
    )
    kafka_group_prefix: str = Field(
        default="recomind-", description="Consumer group ids are this prefix + the group name."
    )
    kafka_fetch_max_wait_ms: int = Field(
        default=100,
        ge=0,
        description="Longest a broker may hold a consumer's fetch while it has no new data "
        "(aiokafka's default is 500 ms; a broker that does not answer early adds that much "
        "delay to every event).",
    )
    consumer_batch_size: int = Field(default=500, ge=1)
    consumer_poll_ms: int = Field(default=200, ge=1)
    serve_consumers: str = Field(
        default="auto",
        description="Consumer groups `recomind serve` runs: auto (all on the embedded bus, "
        "none on Kafka), all, none, or a comma list.",
    )
    lake_url: str = Field(
        default=f"file://{(DEFAULT_VAR_DIR / 'lake').resolve()}",
        description="file:///path or s3://bucket/prefix",
    )
    lake_flush_events: int = Field(default=5000, ge=1)
    lake_flush_seconds: float = Field(default=60.0, gt=0)
    lake_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, moto); AWS when unset."
    )
    refresh_after_interactions: int = Field(
        default=3, ge=0, description="Refresh a user's list after this many new actions (0: off)."
    )
    refresh_on_like: bool = Field(
        default=True,
        description="After a like, skip or unlike the user's cached list is dropped and "
        "refreshed: their next request counts the action.",
    )
    retrain_after_events: int = Field(default=10_000, ge=1)
    retrain_after_minutes: float = Field(default=60.0, gt=0)

    # Cache TTLs from the design (seconds).
    recommendations_ttl_s: int = Field(default=600, ge=1)
    recommendations_stale_s: int = Field(
        default=600,
        ge=0,
        description="After its TTL a list may still be served this long while it is refreshed.",
    )
    recommendations_refresh_wait_s: float = Field(
        default=1.0,
        ge=0,
        description="After a taste action, how long a request waits for the refresh its "
        "process is already running for that user before computing the list itself.",
    )
    takedown_refresh_s: float = Field(
        default=0.5,
        gt=0,
        description="How often each process re-reads the taken-down videos (served nowhere: "
        "docs/erasure.md); the process that takes one down hides it at once.",
    )
    experiments_refresh_s: float = Field(
        default=1.0,
        gt=0,
        description="How often each process re-reads the running and shipped experiments "
        "(docs/experiments.md); the process that creates, stops or ships one reloads at once.",
    )
    popular_videos_ttl_s: int = Field(default=900, ge=1)
    user_profile_ttl_s: int = Field(default=1800, ge=1)
    video_card_ttl_s: int = Field(
        default=3600,
        ge=1,
        description="How long the shared cache keeps a video's card (``video_card:{id}``), "
        "the record every cached list renders its items from.",
    )
    video_card_local_ttl_s: float = Field(
        default=60.0,
        ge=0,
        description="How long one process reuses a video card it holds: a catalogue change "
        "made through another process shows within this time.",
    )
    recent_actions_keep: int = Field(
        default=100,
        ge=1,
        le=128,
        description="Newest noted actions kept per user (``recent:{user}``); older "
        "ones are in the database by then. At most 128: Redis keeps such a set compact.",
    )
    impressions_log: bool = Field(
        default=False,
        description="Log every page served (user, request id, position, video, score, reason, "
        "source, cache) to the lake under impressions/ (recomind serve only). Off by default "
        "until its cost on a cache hit's p99 is cut (about +10 ms at 4,000 hits/s on 2 cores).",
    )
    impressions_flush_seconds: float = Field(
        default=10.0, gt=0, description="How often the served-list log is written to the lake."
    )
    access_log: bool = Field(
        default=False,
        description="uvicorn's per-request access log (about half the throughput of a cache "
        "hit); request counts and latencies are in /metrics either way.",
    )

    candidate_pool_ttl_s: float = Field(
        default=30.0, ge=0, description="How long one process reuses its popular/new candidates."
    )

    explore_every: int = Field(
        default=5,
        ge=0,
        description="Every k-th item of a personal list comes from elsewhere: tags and "
        "creators the user showed no taste for (5: one in five; 0: off).",
    )
    default_n: int = Field(default=20, ge=1)
    max_n: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    videos_batch_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /videos/batch (5,000 videos of ~220 bytes: ~1.1 MB).",
    )
    actions_batch_max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /video_actions/batch (10,000 actions: ~1.7 MB).",
    )

    # What POST /video_action accepts (issue 11).
    event_max_future_s: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="How far ahead of the server's clock an event's timestamp may be.",
    )
    event_max_age_s: float = Field(
        default=86_400.0,
        gt=0,
        le=366 * 86_400,
        description="How old an event's timestamp may be on the live endpoint (bulk loads "
        "take history).",
    )
    event_max_watch_ratio: float = Field(
        default=100.0,
        ge=1,
        le=10_000,
        description="A watch time may be at most this many times the video's duration "
        "(loops included); one day when the duration is unknown.",
    )
    event_rate_limit: str = Field(
        default="20/second;600/minute",
        description="Actions one user_id may post, as `N/second;M/minute` (the `limits` "
        "notation); empty: no limit.",
    )

    # Popularity: exponential decay and action weights.
    popularity_half_life_hours: float = Field(default=6.0, gt=0)
    weight_like: float = weights.DEFAULT_ACTION_WEIGHTS["like"]
    weight_view: float = weights.DEFAULT_ACTION_WEIGHTS["view"]
    weight_skip: float = weights.DEFAULT_ACTION_WEIGHTS["skip"]
    profile_half_life_hours: float = Field(default=24.0 * 7, gt=0)
    profile_top_tags: int = Field(default=10, ge=1)

    media_dir: Path | None = Field(
        default=None,
        description="Folder served at /media (the demo's local clips); unset: no /media mount.",
    )
    # Model store, model ranker and batch jobs (issue 4).
    model_dir: str = Field(
        default=str(DEFAULT_VAR_DIR / "models"),
        description="Where the train job publishes fitted models (empty: no model store).",
    )
    model_poll_seconds: float = Field(
        default=5.0, ge=0, description="How often a serving process checks for a newer model."
    )
    model_fresh_slots: int = Field(
        default=3, ge=0, description="New uploads (unknown to the model) blended into a page."
    )
    train_window_days: float = Field(
        default=90.0, ge=0, description="The train job reads actions of the last N days (0: all)."
    )
    train_max_events: int = Field(
        default=5_000_000, ge=0, description="The train job reads at most this many newest actions."
    )
    learned_ranker: bool = Field(
        default=True,
        description="Train (and serve) the LightGBM ranker over the hybrid's candidates.",
    )
    ranker_time_of_day: bool = Field(
        default=False, description="Give the learned ranker the hour-of-day features."
    )
    gate_holdout: float = Field(
        default=0.1,
        ge=0,
        lt=0.5,
        description="Share of the newest events the gate scores a new model on (0: no gate).",
    )
    ranker_window: float = Field(
        default=0.2,
        gt=0,
        lt=0.5,
        description="Share of events (before the holdout) the learned ranker is labelled on.",
    )
    gate_margin: float = Field(
        default=0.0,
        description="Relative NDCG@10 a new model must beat the serving one by to be published.",
    )
    gate_model_free: bool = Field(
        default=False,
        description="The first model must beat the model-free ranker replayed on the "
        "holdout to be published (off by default: the replay of the ranker that chose what "
        "users saw is biased in its favour, see docs/ranker.md).",
    )
    gate_users: int = Field(
        default=2000,
        ge=1,
        description="Holdout users the gate scores (a seeded sample when more acted).",
    )
    ranker_max_groups: int = Field(
        default=5000,
        ge=1,
        description="Label-window users the learned ranker trains on (a seeded sample).",
    )
    jobs_interval_minutes: float = Field(
        default=60.0, ge=0, description="`recomind serve` runs every job this often (0: never)."
    )
    event_bus_retention_hours: float = Field(
        default=168.0,
        ge=0,
        description="The embedded bus deletes events older than this even if a consumer group "
        "has not consumed them (logged, counted); 0: no age cap. Events every group consumed "
        "are deleted every few minutes while the consumers run.",
    )
    event_claims_days: float = Field(
        default=8.0,
        gt=0,
        description="How long a consumer group remembers a live event's id, so that the same "
        "message read again (a producer retry, a re-read after an offset reset) counts once. "
        "Keep it above the bus's retention (Kafka's retention.ms, event_bus_retention_hours).",
    )
    consumer_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="`recomind consume` serves Prometheus metrics (lag, stuck groups) on this "
        "port of 127.0.0.1 / RECOMIND_CONSUMER_METRICS_HOST (0: none).",
    )
    consumer_metrics_host: str = "127.0.0.1"
    consumer_stuck_after_s: float = Field(
        default=60.0,
        gt=0,
        description="A consumer group that has failed for this long without applying or "
        "committing a batch shows as stuck (recomind_consumer_stuck).",
    )
    jobs_scheduled: str = Field(
        default="train,precompute",
        description="Jobs the scheduler runs each interval. popularity and profiles are kept "
        "exact by the stream consumers; recompute them by hand with the consumers stopped.",
    )
    precompute_active_hours: float = Field(
        default=24.0, gt=0, description="Precompute lists for users active in the last N hours."
    )
    precompute_max_users: int = Field(
        default=10_000, ge=0, description="Precompute at most this many (most recent) users."
    )
    precompute_workers: int = Field(
        default=0,
        ge=0,
        description="Processes the precompute job ranks in (0: one per core, at most 4). "
        "An in-process cache (memory://) is always filled in-process.",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, v: str) -> str:
        if v.split(":", 1)[0].split("+", 1)[0] not in {"postgresql", "postgres", "mysql", "sqlite"}:
            raise ValueError(
                "RECOMIND_DATABASE_URL must start with postgresql://, mysql:// or sqlite://"
            )
        return v

    @field_validator("event_bus_url")
    @classmethod
    def _known_bus(cls, v: str) -> str:
        if not v.startswith(("kafka://", "sqlite://")):
            raise ValueError("RECOMIND_EVENT_BUS_URL must start with kafka:// or sqlite://")
        return v

    @field_validator("lake_url")
    @classmethod
    def _known_lake(cls, v: str) -> str:
        if not v.startswith(("file://", "s3://", "memory://")):
            raise ValueError("RECOMIND_LAKE_URL must start with file:// or s3://")
        return v

    @field_validator("cache_url")
    @classmethod
    def _known_cache(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError("RECOMIND_CACHE_URL must start with redis:// or memory://")
        return v

    @field_validator("event_rate_limit")
    @classmethod
    def _known_rate_limit(cls, v: str) -> str:
        if v.strip():
            try:
                parse_many(v)
            except ValueError:
                raise ValueError(
                    "RECOMIND_EVENT_RATE_LIMIT must look like 20/second;600/minute (or be empty)"
                ) from None
        return v.strip()

    @field_validator("weight_like", "weight_view", "weight_skip")
    @classmethod
    def _finite_weight(cls, v: float) -> float:
        if not math.isfinite(v) or abs(v) > 1e6:
            raise ValueError("an action weight must be a finite number within ±1e6")
        return v

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError(
                "RECOMIND_DATABASE_URL is SQLite in production; point it at PostgreSQL or MySQL"
            )
        if self.default_n > self.max_n:
            raise ValueError("RECOMIND_DEFAULT_N must not exceed RECOMIND_MAX_N")
        return self

    @property
    def action_weights(self) -> Mapping[str, float]:
        """Weight of each action type (``RECOMIND_WEIGHT_LIKE`` / ``_VIEW`` / ``_SKIP``)."""
        return {"like": self.weight_like, "view": self.weight_view, "skip": self.weight_skip}

    def action_weight(
        self,
        action_type: str,
        watch_time_ms: int | None = None,
        duration_s: float | None = None,
    ) -> float:
        """:func:`recomind.weights.action_weight` with this deployment's weights."""
        return weights.action_weight(
            action_type, watch_time_ms, duration_s, weights=self.action_weights
        )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
