"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.

PostgreSQL refuses to run as root, so when we are root the server binaries run as the
``postgres`` OS user (``runuser -u postgres --``) in a temporary folder that user owns.
Authentication is ``trust`` for local TCP; the cluster lives only as long as the object.

Usage::

    with PostgresServer.start() as pg:
        url = pg.create_database("lake_1")   # postgresql://postgres@127.0.0.1:PORT/lake_1

When the binaries are missing, :func:`require_postgres` fails with a message saying to run
``make test`` (which installs them), unless ``WORKSPACE_TEST_SKIP_POSTGRES=1`` is set, in
which case the caller skips.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SKIP_ENV = "WORKSPACE_TEST_SKIP_POSTGRES"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL server binaries are not installed, or the server did not start."""


def skip_requested() -> bool:
    """Whether the developer explicitly opted out of PostgreSQL tests."""
    return os.environ.get(SKIP_ENV, "").strip().lower() in {"1", "true", "yes"}


def find_bin_dir() -> Path | None:
    """Newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``."""
    candidates = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            try:
                version = float(d.parent.name)
            except ValueError:
                version = 0.0
            candidates.append((version, d))
    return max(candidates)[1] if candidates else None


def missing_message() -> str:
    return (
        "PostgreSQL server binaries were not found under /usr/lib/postgresql/*/bin. "
        "The lake tests run every catalog test on PostgreSQL too: run `make test` "
        "(it installs PostgreSQL with `apt-get install -y postgresql`), or install it "
        f"yourself. To skip the PostgreSQL tests explicitly, set {SKIP_ENV}=1."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway cluster. Create it with :meth:`start`; stop it with :meth:`stop`."""

    bin_dir: Path
    root: Path
    port: int
    user: str = "postgres"
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://`` URL of a database of this cluster."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    # -- lifecycle ----------------------------------------------------------------------
    @classmethod
    def start(cls, *, max_connections: int = 300, timeout: float = 60.0) -> PostgresServer:
        """initdb + pg_ctl start on a free port; raises :class:`PostgresUnavailable`."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(missing_message())
        root = Path(tempfile.mkdtemp(prefix="ws-pg-"))
        as_root = os.geteuid() == 0
        if as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    "Running as root, but there is no `postgres` OS user to run the server as. "
                    "Install PostgreSQL with `make test` (apt-get install -y postgresql)."
                ) from exc
            os.chown(root, pw.pw_uid, pw.pw_gid)
        root.chmod(0o700)
        server = cls(bin_dir, root, _free_port())
        try:
            server._run(
                "initdb",
                "-D", str(server.data_dir),
                "-U", server.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            )  # fmt: skip
            options = " ".join(
                [
                    f"-p {server.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={root}",
                    f"-c max_connections={max_connections}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
            )
            server._run(
                "pg_ctl", "start", "-w", "-t", str(int(timeout)),
                "-D", str(server.data_dir), "-l", str(server.log_file), "-o", options,
            )  # fmt: skip
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (fast) and delete its folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases ----------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name`` and return its URL."""
        if not _DB_NAME.match(name):
            raise ValueError(f"not a safe database name: {name!r}")
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def execute(self, statement: str, dbname: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement in autocommit mode; returns the rows, if any."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[call-overload]
            return list(cur.fetchall()) if cur.description else []

    # -- helpers ------------------------------------------------------------------------
    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(
            cmd,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            log = ""
            if self.log_file.exists():
                log = self.log_file.read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(
                f"`{tool}` failed (exit {proc.returncode}): {proc.stderr.strip()}\n{log}"
            )


def wait_until_accepting(server: PostgresServer, timeout: float = 30.0) -> None:
    """Poll until a TCP connection succeeds (pg_ctl -w normally guarantees it already)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
