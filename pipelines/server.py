"""The Prefect API that flows report to: the configured server, or a temporary local one.

Prefect's own temporary server outlives its parent when that parent is killed; this one is
started the same way but asks the kernel to stop it when the process that started it dies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from components.core.locks import exclusive
from pipelines.processes import die_with_parent

STARTUP_TIMEOUT_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def _wait_until_healthy(server: subprocess.Popen, url: str) -> None:
    started = time.monotonic()
    while not _healthy(url):
        if server.poll() is not None:
            raise RuntimeError(f"the local Prefect server exited with code {server.returncode}")
        if time.monotonic() - started > STARTUP_TIMEOUT_SECONDS:
            raise RuntimeError(f"the local Prefect server did not start at {url}")
        time.sleep(0.5)


@contextmanager
def prefect_api() -> Iterator[str]:
    """``PREFECT_API_URL`` if set; else a temporary server on loopback for the duration, which
    ends with this process however it ends. Yields the API URL."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    import prefect

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]
    # As Prefect runs its own temporary server: no UI, ephemeral mode.
    env = os.environ | {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"}
    from prefect.settings import PREFECT_HOME

    # Temporary servers of one user share Prefect's database: two starting at once would both
    # migrate it, and one would exit. They start one after the other.
    with exclusive(Path(PREFECT_HOME.value()), "prefect-server-start"):
        server = subprocess.Popen(command, env=env, preexec_fn=die_with_parent)
        try:
            _wait_until_healthy(server, url)
        except BaseException:
            server.kill()
            raise
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        os.environ["PREFECT_API_URL"] = url  # for subprocesses
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)  # the flows' last log lines, while the server listens
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
