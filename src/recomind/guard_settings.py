"""The settings of the request guards (issue 15): rate limits per route group, proxies, CORS,
security headers and the bounds of a request's head. Mixed into :class:`recomind.config.Settings`
(one settings object; this file keeps their notation and checks together). docs/limits.md.

The rate limits' notation is ``group=limit[,limit];group=...``, e.g.
``recommend=50/second,1200/minute;ingest=20/second;*=100/second``: every limit in the ``limits``
library's notation, ``*`` for the groups not named, ``group=`` for no limit on that group, an
empty string for none at all. Parsed when the settings are read, so a bad value stops the process
at start with the setting's name.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from limits import RateLimitItem, parse_many
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

#: The route groups (:func:`recomind.api.request_limits.route_group` sorts requests into them).
GROUPS = ("recommend", "ingest", "read", "admin", "auth")
WILDCARD = "*"


def parse_group_limits(text: str, setting: str) -> dict[str, list[RateLimitItem]]:
    """``"recommend=5/second;*=10/second"`` -> ``{group: [limits]}`` for every group with a
    limit; a ``ValueError`` naming ``setting`` for anything else."""
    named: dict[str, list[RateLimitItem]] = {}
    fallback: list[RateLimitItem] | None = None
    for part in filter(None, (p.strip() for p in text.split(";"))):
        group, sep, limits = (s.strip() for s in part.partition("="))
        if not sep or (group not in GROUPS and group != WILDCARD):
            raise ValueError(
                f"{setting}: {part!r} is not group=limit; groups are {', '.join(GROUPS)} or *"
            )
        try:
            items = parse_many(limits) if limits else []
        except ValueError:
            raise ValueError(
                f"{setting}: {limits!r} (group {group}) must look like 50/second,1200/minute"
            ) from None
        if group == WILDCARD:
            fallback = items
        elif group in named:
            raise ValueError(f"{setting}: group {group} is given twice")
        else:
            named[group] = items
    out = {}
    for group in GROUPS:
        items = named.get(group, fallback or [])
        if items:
            out[group] = items
    return out


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> the networks (a bare address is a network of one)."""
    return [ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip()]


def split_list(text: str) -> list[str]:
    """A comma-separated setting as its items."""
    return [p.strip() for p in text.split(",") if p.strip()]


class GuardSettings(BaseSettings):
    """Rate limits, proxies, CORS, headers: the part of the settings the API's guards read."""

    rate_limits_per_key: str = Field(
        default="*=1000/second;recommend=2000/second;ingest=2000/second;admin=100/second",
        description="Requests one API key may make, per route group (docs/limits.md).",
    )
    rate_limits_per_user: str = Field(
        default="*=20/second,600/minute;ingest=20/second,1200/minute;admin=5/second;"
        "auth=5/second,30/minute",
        description="Requests one end user's token may make, per route group.",
    )
    rate_limits_per_address: str = Field(
        default="*=1000/second;admin=100/second;auth=10/second,100/minute",
        description="Requests one client address may make, per route group (every request, "
        "whoever sent it).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none (the peer address "
        "is the client).",
    )
    cors_origins: str = Field(
        default="",
        description="Origins (comma-separated, e.g. https://app.example) a browser app may "
        "call the API from; `*`: any; empty: the same origin only.",
    )
    hsts: Literal["auto", "always", "off"] = Field(
        default="auto",
        description="Strict-Transport-Security: `auto` on requests that came over TLS "
        "(https, or a trusted proxy's X-Forwarded-Proto), `always`, or `off`.",
    )
    hsts_max_age_s: int = Field(default=31_536_000, ge=0, description="HSTS max-age.")
    csp_media_src: str = Field(
        default="'self' https:",
        description="The CSP media-src sources: where the catalogue's video URLs may point.",
    )
    action_max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest body of POST /video_action (one action: ~200 bytes); the batch "
        "routes have their own bounds, every other route RECOMIND_MAX_BODY_BYTES.",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest request head (all header names and values): 431 above it.",
    )
    max_url_bytes: int = Field(
        default=8 * 1024, ge=256, description="Longest path plus query string: 414 above it."
    )

    @field_validator("rate_limits_per_key", "rate_limits_per_user", "rate_limits_per_address")
    @classmethod
    def _known_group_limits(cls, v: str, info: ValidationInfo) -> str:
        parse_group_limits(v, "RECOMIND_" + str(info.field_name).upper())
        return v.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _known_networks(cls, v: str) -> str:
        try:
            parse_networks(v)
        except ValueError:
            raise ValueError(
                "RECOMIND_TRUSTED_PROXIES must be addresses or networks like 10.0.0.0/8,::1"
            ) from None
        return v

    @field_validator("cors_origins")
    @classmethod
    def _known_origins(cls, v: str) -> str:
        for origin in split_list(v):
            if origin != "*" and (
                not origin.startswith(("http://", "https://")) or origin.rstrip("/").count("/") > 2
            ):
                raise ValueError(
                    f"RECOMIND_CORS_ORIGINS: {origin!r} must be * or scheme://host[:port]"
                )
        return v

    @property
    def rate_limits(self) -> dict[str, dict[str, list[RateLimitItem]]]:
        """``{scope: {group: [limits]}}`` for the scopes ``key``, ``user`` and ``address``."""
        return {
            scope: parse_group_limits(text, "")
            for scope, text in (
                ("key", self.rate_limits_per_key),
                ("user", self.rate_limits_per_user),
                ("address", self.rate_limits_per_address),
            )
        }
