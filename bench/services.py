"""The processes a replay runs beside it, each on loopback and ended with it: a real Prefect
server with its scheduler, ``seqpipe schedule`` and ``seqpipe serve``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.request import Request, urlopen

from pipelines.processes import die_with_parent

BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(url: str, path: str, body: dict | None = None) -> Any:
    """One call of a JSON API: GET, or POST of ``body``."""
    request = Request(
        f"{url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 1.0) -> T:
    """The first truthy answer of ``check``; TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@contextmanager
def process(
    command: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """``command`` in its own process group, its output in ``log`` (a pipe nobody reads would
    fill up and stall it); on exit SIGTERM to the group, SIGKILL if it is still there after
    30 s. It also gets SIGTERM if this process dies."""
    with log.open("ab") as output:
        child = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait(timeout=30)


def seqpipe_env(workspace: Path, **extra: str) -> dict[str, str]:
    """The environment of a seqpipe command on ``workspace``'s own store."""
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    env.pop("PREFECT_API_URL", None)
    return env | {"SEQPIPE_WORKSPACE": str(workspace), **extra}


@contextmanager
def prefect_server(home: Path, timeout: float = 240) -> Iterator[str]:
    """A real Prefect server with its services (the scheduler loops every 2 s) on loopback,
    its database under ``home``; yields the API URL."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"} | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    }
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-ui"]
    url = f"http://127.0.0.1:{port}/api"
    with process(command, env, home / "server.log") as server:

        def healthy() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server exited: see {home / 'server.log'}")
            try:
                return api(url, "/health") is True
            except OSError:
                return False

        wait_for(healthy, timeout, "the Prefect server")
        yield url


@contextmanager
def scheduled(
    family: str,
    config: Path,
    workspace: Path,
    prefect_url: str,
    interval: int,
    log: Path,
    profile: str = "quick",
) -> Iterator[subprocess.Popen]:
    """``seqpipe schedule FAMILY`` every ``interval`` seconds from a process of its own, with
    ``workspace`` as the deployment's workspace."""
    command = [str(BIN / "seqpipe"), "schedule", family, "--config", str(config)]
    command += ["--profile", profile, "--interval", str(interval)]
    env = seqpipe_env(
        workspace, PREFECT_API_URL=prefect_url, PREFECT_HOME=str(log.parent / "prefect-client")
    )
    with process(command, env, log, cwd=workspace) as scheduler:
        yield scheduler


@contextmanager
def model_server(
    name: str, workspace: Path, log: Path, poll_seconds: float = 2.0, timeout: float = 240
) -> Iterator[str]:
    """``seqpipe serve NAME`` following its champion, once it answers; yields its URL."""
    port = free_port()
    command = [str(BIN / "seqpipe"), "serve", name, "--port", str(port)]
    command += ["--poll-seconds", str(poll_seconds)]
    command += ["--prediction-log", str(workspace / "predictions")]
    url = f"http://127.0.0.1:{port}"
    with process(command, seqpipe_env(workspace), log, cwd=workspace) as server:

        def ready() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"seqpipe serve {name} exited: see {log}")
            try:
                with urlopen(f"{url}/ready", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(ready, timeout, f"seqpipe serve {name}")
        yield url
