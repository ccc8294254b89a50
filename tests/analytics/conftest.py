"""A lake on a local folder and on an S3-compatible endpoint (moto, on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.server import free_port
from tests.utils.services import unavailable, unique_name


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        unavailable("moto[server]", exc)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["file", "s3"])
def lake(
    request: pytest.FixtureRequest, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str | None]:
    """``(lake url, S3 endpoint or None)``: an empty lake."""
    if request.param == "file":
        return f"file://{tmp_path}/lake", None
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3  # type: ignore[import-untyped]

    bucket = unique_name("features").replace("_", "-")
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/lake", endpoint
