"""Open the lake's filesystem from its URL: ``file:///path`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from typing import Any

import fsspec


def open_lake(url: str, *, s3_endpoint_url: str | None = None) -> tuple[Any, str]:
    """Return ``(filesystem, root path)`` for ``url``."""
    options: dict[str, Any] = {}
    if url.startswith("s3://") and s3_endpoint_url:
        options["client_kwargs"] = {"endpoint_url": s3_endpoint_url}
    fs, root = fsspec.core.url_to_fs(url, **options)
    return fs, str(root).rstrip("/")
