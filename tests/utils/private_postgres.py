"""A throwaway PostgreSQL cluster a test may stop and start: for outage and fault tests.

The shared server (``127.0.0.1:5432``) must never be stopped; this is a cluster of its own,
in a fresh folder, on a free loopback port::

    with private_postgres() as pg:
        engine = make_engine(pg.url)
        ...
        pg.stop()   # immediate: clients see refused connections at once
        ...
        pg.start()  # the same data, on the same port

``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` OS
user (``runuser``) and the folder is handed to it; as any other user they run as that user.
A machine without the server binaries skips the test (fails it under ``CI=true``, like
every missing service: :func:`tests.utils.services.unavailable`).

``RECOMIND_TEST_PG_BIN`` names the binaries' folder when it is not
``/usr/lib/postgresql/<newest>/bin`` or on ``PATH``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.utils.server import free_port
from tests.utils.services import unavailable

#: The OS user that owns and runs the cluster when the tests run as root.
OS_USER = "postgres"
#: How long ``pg_ctl`` waits for a start or stop before it gives up.
WAIT_S = 60


def _bin_dir() -> Path:
    named = os.environ.get("RECOMIND_TEST_PG_BIN")
    if named:
        return Path(named)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for folder in versions:
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    if found is None:
        raise FileNotFoundError("no initdb under /usr/lib/postgresql/*/bin or on PATH")
    return Path(found).parent


@dataclass
class PrivatePostgres:
    """A running cluster: ``url`` of its ``postgres`` database (user ``postgres``, trust)."""

    data_dir: Path
    port: int
    bin_dir: Path
    as_user: str | None  # run the binaries as this OS user (we are root), else as ourselves

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        """The URL of another database on this cluster (create it first)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user is not None:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT_S + 30)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr or done.stdout}"
            )

    def start(self) -> None:
        """Start the cluster (again) and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        log = str(self.data_dir / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", log, "-w", "-t", str(WAIT_S),
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop it at once (``-m immediate``: no checkpoint, clients cut off): an outage."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create, start and yield a cluster; on exit stop it (if running) and delete it."""
    try:
        bin_dir = _bin_dir()
        as_user = OS_USER if os.geteuid() == 0 else None
        owner = pwd.getpwnam(as_user) if as_user is not None else None
    except (FileNotFoundError, KeyError, ValueError) as exc:
        unavailable("a PostgreSQL server's binaries (initdb, pg_ctl)", exc)
        raise
    root = Path(tempfile.mkdtemp(prefix="recomind-pg-"))
    data_dir = root / "data"
    data_dir.mkdir(mode=0o700)
    if owner is not None:
        root.chmod(0o755)  # the postgres user must reach its folder
        os.chown(data_dir, owner.pw_uid, owner.pw_gid)
    pg = PrivatePostgres(data_dir, free_port(), bin_dir, as_user)
    try:
        pg._run("initdb", "-D", str(data_dir), "-A", "trust", "-U", "postgres", "--no-sync")
        pg.start()
        yield pg
    finally:
        if pg.running():
            with suppress(RuntimeError):  # the folder goes regardless
                pg.stop()
        shutil.rmtree(root, ignore_errors=True)
