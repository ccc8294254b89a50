"""One settings object for the whole service; every knob has an env var ``RECOMIND_...``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Service configuration, read from the environment (prefix ``RECOMIND_``) or ``.env``."""

    model_config = SettingsConfigDict(env_prefix="RECOMIND_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'recomind.db'}",
        description="postgresql://..., mysql://... or sqlite:///path (embedded default).",
    )
    cache_url: str = Field(default="memory://", description="redis://... or memory://")
    cache_prefix: str = Field(default="", description="Prefix of every cache key (tests, tenants).")

    # Cache TTLs from the design (seconds).
    recommendations_ttl_s: int = Field(default=600, ge=1)
    popular_videos_ttl_s: int = Field(default=900, ge=1)
    user_profile_ttl_s: int = Field(default=1800, ge=1)

    candidate_pool_ttl_s: float = Field(
        default=30.0, ge=0, description="How long one process reuses its popular/new candidates."
    )

    default_n: int = Field(default=20, ge=1)
    max_n: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Popularity: exponential decay and action weights.
    popularity_half_life_hours: float = Field(default=6.0, gt=0)
    weight_like: float = 4.0
    weight_view: float = 1.0
    weight_skip: float = -1.0
    profile_half_life_hours: float = Field(default=24.0 * 7, gt=0)
    profile_top_tags: int = Field(default=10, ge=1)

    media_dir: Path | None = Field(
        default=None,
        description="Folder served at /media (the demo's local clips); unset: no /media mount.",
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

    @field_validator("cache_url")
    @classmethod
    def _known_cache(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError("RECOMIND_CACHE_URL must start with redis:// or memory://")
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

    def action_weight(self, action_type: str) -> float:
        return {"like": self.weight_like, "view": self.weight_view, "skip": self.weight_skip}[
            action_type
        ]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
