"""Where the online figures per source live between the job that computes them and the API
that shows them: the cache's ``online_figures`` key (JSON), kept a day."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from recomind.analytics.online import SourceFigures
from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.schemas import utcnow

#: How long computed figures stay readable.
FIGURES_TTL_S = 86_400.0


def store_figures(cache: SafeCache, settings: Settings, figures: list[SourceFigures]) -> None:
    rows = [{**asdict(f), "like_rate": f.like_rate, "skip_rate": f.skip_rate} for f in figures]
    body = {"generated_at": utcnow().isoformat(), "sources": rows}
    cache.set(
        keys.key(settings.cache_prefix, keys.ONLINE_FIGURES), orjson.dumps(body), FIGURES_TTL_S
    )


def load_figures(cache: SafeCache, settings: Settings) -> dict[str, Any] | None:
    """``{"generated_at": …, "sources": [{source, impressions, likes, skips, like_rate,
    skip_rate, mean_watch_fraction, watched}, …]}``, or ``None`` before the first run."""
    raw = cache.get(keys.key(settings.cache_prefix, keys.ONLINE_FIGURES))
    if raw is None:
        return None
    try:
        loaded: dict[str, Any] = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return loaded
