"""A throwaway MariaDB server a test may stop and start: the MariaDB side of the outage tests.

The shared server (``127.0.0.1:3306``) must never be stopped; this is a server of its own,
in a fresh folder, on a free loopback port (the same interface as
:mod:`tests.utils.private_postgres`)::

    with private_mariadb() as db:
        engine = make_engine(db.url)
        ...
        db.stop()   # SIGKILL: clients see refused connections at once, nothing is flushed
        ...
        db.start()  # InnoDB recovers the same data, on the same port

``--no-defaults`` keeps the machine's ``my.cnf`` out of it. A machine without
``mariadb-install-db`` / ``mariadbd`` skips the test (fails it under ``CI=true``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from tests.utils.server import free_port
from tests.utils.services import unavailable

#: How long a start waits for the server to accept connections.
WAIT_S = 60.0


def _os_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
        if found:
            return found
    raise FileNotFoundError(f"none of {', '.join(names)} on PATH or in /usr/sbin")


@dataclass
class PrivateMariaDB:
    """A running server: ``url`` of its ``recomind`` database (user ``root``, no password)."""

    root: Path
    port: int
    server_bin: str
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/recomind"

    def start(self) -> None:
        """Start the server (again) and wait until it accepts connections."""
        log = (self.root / "server.log").open("ab")
        self._proc = subprocess.Popen(
            [
                self.server_bin, "--no-defaults", f"--user={_os_user()}",
                f"--datadir={self.root / 'data'}", f"--port={self.port}",
                "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}",
                f"--pid-file={self.root / 'pid'}", "--skip-log-bin",
                "--innodb-buffer-pool-size=64M", "--max-connections=500",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                pymysql.connect(
                    host="127.0.0.1", port=self.port, user="root", connect_timeout=1
                ).close()
                return
            except pymysql.MySQLError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mariadbd did not start: {(self.root / 'server.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Kill it at once (SIGKILL: no shutdown, clients cut off): an outage."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


@contextmanager
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """Create, start and yield a server with an empty ``recomind`` database; on exit kill it
    and delete its folder."""
    try:
        install, server = _binary("mariadb-install-db", "mysql_install_db"), _binary("mariadbd")
    except FileNotFoundError as exc:
        unavailable("a MariaDB server's binaries (mariadb-install-db, mariadbd)", exc)
        raise
    root = Path(tempfile.mkdtemp(prefix="recomind-mariadb-"))
    db = PrivateMariaDB(root, free_port(), server)
    try:
        done = subprocess.run(
            [
                install, "--no-defaults", f"--datadir={root / 'data'}", f"--user={_os_user()}",
                "--auth-root-authentication-method=normal", "--skip-test-db",
            ],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {done.stdout[-1500:]}{done.stderr}")
        db.start()
        conn = pymysql.connect(host="127.0.0.1", port=db.port, user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE recomind")
        conn.close()
        yield db
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)
