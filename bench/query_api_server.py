"""The query API as a child process for benchmarks: ``certstats api`` (uvicorn, as deployed)
on a free loopback port, with its resident memory read from ``/proc/<pid>/status`` (Linux)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

_READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ApiProcess:
    """A running API child: its base URL and process id."""

    base_url: str
    pid: int

    def peak_rss_bytes(self) -> int:
        """The process's resident-set high-water mark since it started (``VmHWM``), bytes."""
        return self._status_bytes("VmHWM:")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used since it started, seconds (``/proc/<pid>/
        stat`` fields 14 and 15)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """The process's current resident set size (``VmRSS``), bytes."""
        return self._status_bytes("VmRSS:")

    def _status_bytes(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc/{self.pid}/status")


@contextlib.contextmanager
def api_process(database_url: str, jwt_secret: str) -> Iterator[ApiProcess]:
    """Start ``certstats api`` on a free port, wait for ``/healthz``, yield it, then stop it
    (SIGTERM, SIGKILL after 10 s). Raises RuntimeError when it does not come up in time."""
    port = _free_port()
    env = {**os.environ, "CERTSTATS_DATABASE_URL": database_url, "CERTSTATS_JWT_SECRET": jwt_secret}
    command = [str(Path(sys.executable).parent / "certstats"), "api", "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = ApiProcess(f"http://127.0.0.1:{port}", child.pid)
        _wait_ready(server.base_url, child)
        yield server
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class RssSampler:
    """Samples a process's RSS every ``interval_s`` in a thread; ``peak`` is the maximum seen."""

    def __init__(self, server: ApiProcess, interval_s: float = 0.02) -> None:
        self._server, self._interval = server, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._server.rss_bytes())
            self._stop.wait(self._interval)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_ready(base_url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"certstats api exited with code {child.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("certstats api did not answer /healthz in time")
