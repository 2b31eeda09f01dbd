"""pytest fixtures for a real PostgreSQL on 127.0.0.1: a throwaway cluster made with ``initdb``.

The cluster lives in its own ``tempfile.TemporaryDirectory`` (never the pytest tmp dirs), listens on a free
port with trust auth, runs with ``fsync=off``, and is stopped at the end of the session. As root (CI), the
server runs as the ``postgres`` user (PostgreSQL refuses to run as root). ``NETQOS_TEST_PG_URL`` (an admin
URL such as ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) uses an existing server instead.
Each test gets its own database from :meth:`PostgresServer.new_database`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pg_bindir() -> Path | None:
    """The PostgreSQL server binaries: ``pg_config --bindir``, else the newest /usr/lib/postgresql/*/bin."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists() and (Path(out) / "postgres").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for c in reversed(candidates):
        if (Path(c) / "initdb").exists() and (Path(c) / "postgres").exists():
            return Path(c)
    return None


@dataclass
class PostgresServer:
    """An initdb'd cluster started on ``port``; ``admin_url`` reaches the ``postgres`` database."""

    bindir: Path
    root: Path
    port: int
    user: str | None = None
    """OS user to run as (``postgres`` when we are root), None: ourselves."""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        data, sock = self.root / "data", self.root / "sock"
        for d in (self.root, sock):
            d.mkdir(exist_ok=True)
            self._chown(d)
        log = self.root / "postgres.log"
        log.touch()
        self._chown(log)
        init = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            capture_output=True, text=True, user=self.user, check=False, timeout=120,
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sock}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=50", "-c", "shared_buffers=16MB"],
                stdout=out, stderr=out, user=self.user, start_new_session=True,
            )  # fmt: skip
        self._wait_ready(log)

    def _wait_ready(self, log: Path) -> None:
        import psycopg

        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
                ):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT_S} s: {log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.proc = None


@dataclass(frozen=True, slots=True)
class PgAdmin:
    """Creates throwaway databases on a server reached by ``admin_url``."""

    admin_url: str

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"netqos_test_{uuid.uuid4().hex[:12]}"
        u = make_url(self.admin_url)
        with psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database, autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return u.set(database=name).render_as_string(hide_password=False)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgAdmin]:
    """A PostgreSQL server for the session (our own cluster, stopped at teardown)."""
    external = os.environ.get("NETQOS_TEST_PG_URL")
    if external:
        yield PgAdmin(external)
        return
    pytest.importorskip("psycopg")
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql)")
    user = _run_as()
    if os.geteuid() == 0 and user is None:
        pytest.fail("running as root and there is no 'postgres' user to run PostgreSQL as")
    with tempfile.TemporaryDirectory(prefix="netqos-pg-") as tmp:
        server = PostgresServer(bindir, Path(tmp), free_port(), user)
        server.start()
        try:
            yield PgAdmin(server.admin_url)
        finally:
            server.stop()
