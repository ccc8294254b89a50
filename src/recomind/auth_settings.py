"""The access-control knobs of :class:`recomind.config.Settings` (``RECOMIND_AUTH`` and
friends), kept beside it so the settings file stays readable; docs/security.md lists them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class AuthSettings(BaseModel):
    """Credentials, user tokens and which operational routes need the admin scope."""

    auth: Literal["required", "off"] = Field(
        default="required",
        description="required: every route but /healthz, /readyz, the web app's files and "
        "the token endpoint needs `Authorization: Bearer` (an API key or a user token); "
        "off: no checks (a private network only).",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="A bootstrap key with every scope (like Meilisearch's master key); "
        "unset: only keys made with `recomind keys create` and user tokens.",
    )
    token_secret: SecretStr | None = Field(
        default=None,
        description="HS256 secret user tokens are signed with (shared with the app's "
        "backend, which mints them); unset: user tokens are refused.",
    )
    token_issuer: str = Field(default="recomind", description="A user token's required `iss`.")
    token_audience: str = Field(default="recomind", description="A user token's required `aud`.")
    token_leeway_s: float = Field(
        default=30.0, ge=0, le=300, description="Clock skew allowed on `exp`, `nbf` and `iat`."
    )
    token_ttl_s: int = Field(
        default=3600,
        ge=60,
        le=7 * 86_400,
        description="Lifetime of a token RecoMind issues (POST /auth/token, `recomind tokens "
        "mint`).",
    )
    web_sign_in: bool = Field(
        default=False,
        description="POST /auth/token issues a user token for any user id it is given: the "
        "demo's sign-in (choose your user). Off in any real deployment: there the app's "
        "backend signs its users' tokens with RECOMIND_TOKEN_SECRET.",
    )
    key_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a process trusts what it read about an API key: a revoked "
        "key stops working within this time.",
    )
    public_reads: bool = Field(
        default=False,
        description="GET /trending and GET /videos/{id} need no credential (a public "
        "catalogue: the demo's signed-out feed).",
    )
    admin_metrics: bool = Field(default=True, description="/metrics needs the admin scope.")
    admin_stats: bool = Field(
        default=True, description="/api/stats (the dashboard's data) needs the admin scope."
    )
    admin_docs: bool = Field(
        default=True, description="/docs, /redoc and /openapi.json need the admin scope."
    )
    admin_user_list: bool = Field(
        default=True, description="GET /users needs the admin scope (else the read scope)."
    )

    @model_validator(mode="after")
    def _auth_safe_in_production(self) -> AuthSettings:
        if getattr(self, "environment", None) != "production":
            return self
        if self.auth == "off":
            raise ValueError("RECOMIND_AUTH=off in production; every route would be open")
        if self.web_sign_in:
            raise ValueError("RECOMIND_WEB_SIGN_IN in production lets anyone act as any user")
        for name, secret in (("MASTER_KEY", self.master_key), ("TOKEN_SECRET", self.token_secret)):
            if secret is not None and len(secret.get_secret_value()) < 32:
                raise ValueError(f"RECOMIND_{name} must be at least 32 characters in production")
        return self
