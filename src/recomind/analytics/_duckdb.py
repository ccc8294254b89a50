"""DuckDB, an optional dependency (the ``stream`` extra): imported when a query runs, so a
plain ``pip install recomind`` imports every module without it."""

from __future__ import annotations

from typing import Any

from recomind.recommend.extras import require


def connect(**config: Any) -> Any:
    """A new in-memory DuckDB connection (``config``: DuckDB settings, e.g. ``threads``)."""
    duckdb = require("duckdb", extra="stream", strategy="the lake's analytics")
    return duckdb.connect(config=config) if config else duckdb.connect()
