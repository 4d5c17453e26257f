"""Model serving benchmark: HTTP latency of `seqpipe serve` against an in-process predict, and
the alias hot swap under load.

Run after `make demo` (or any run that registered champions): ``python -m bench.serving``.
It works on a copy of the workspace's MLflow store, so the registry it measures is left as
it was. Per champion: p50 / p99 of ``predict`` on the model's own input example, in process
and over HTTP (a `seqpipe serve` process, one keep-alive client, requests one after another),
and their ratio. Then, for one model, four clients send requests while the alias moves to
another version: every response is counted by the version that answered, errors apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench import run_header, write_results

READY_TIMEOUT_SECONDS = 180


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(seconds)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def timed(call, repeats: int) -> list[float]:
    call()  # warm-up: first calls build graphs and caches
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(name: str, workspace: Path, poll_seconds: float) -> tuple[subprocess.Popen, str]:
    """A `seqpipe serve` process for ``name@champion``, once it is ready."""
    port = free_port()
    executable = Path(sys.executable).with_name("seqpipe")
    server = subprocess.Popen(
        [str(executable), "serve", name, "--port", str(port), "--poll-seconds", str(poll_seconds)],
        env=os.environ | {"SEQPIPE_WORKSPACE": str(workspace)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"seqpipe serve {name} did not become ready")


def serving_input(uri: str) -> dict[str, Any]:
    """The request body MLflow saved beside the model's input example."""
    import mlflow

    local = mlflow.artifacts.download_artifacts(uri)
    return json.loads(mlflow.models.Model.load(local).get_serving_input(local))


def latency(name: str, workspace: Path, repeats: int) -> dict[str, Any]:
    """In-process and HTTP latency of one champion on its input example."""
    import mlflow

    uri = f"models:/{name}@champion"
    model = mlflow.pyfunc.load_model(uri)
    example = model.input_example
    in_process = percentiles(timed(lambda: model.predict(example), repeats))
    body = serving_input(uri)
    server, url = start_server(name, workspace, poll_seconds=60)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:

            def request() -> None:
                client.post("/predict", json=body).raise_for_status()

            over_http = percentiles(timed(request, repeats))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "model": name,
        "requests": repeats,
        "in_process": in_process,
        "http": over_http,
        "http_over_in_process_p50": over_http["p50_ms"] / in_process["p50_ms"],
    }


def hot_swap(name: str, workspace: Path, clients: int = 4) -> dict[str, Any]:
    """Requests answered by each version while the champion alias moves under load."""
    from mlflow import MlflowClient

    registry = MlflowClient()
    current = registry.get_model_version_by_alias(name, "champion")
    # A second version of the same model, so the alias has somewhere to move.
    moved_to = registry.create_model_version(name, current.source, current.run_id).version
    body = serving_input(f"models:/{name}@champion")
    server, url = start_server(name, workspace, poll_seconds=0.5)
    outcomes: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                response = client.post("/predict", json=body)
                ok = response.status_code == 200
                outcomes[f"v{response.headers['X-Model-Version']}" if ok else "errors"] += 1

    threads = [threading.Thread(target=load) for _ in range(clients)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(3)
        registry.set_registered_model_alias(name, "champion", moved_to)
        moved = time.monotonic()
        while outcomes[f"v{moved_to}"] < 100 and time.monotonic() - moved < 60:
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.terminate()
        server.wait(timeout=30)
    return {
        "model": name,
        "clients": clients,
        "from_version": str(current.version),
        "to_version": str(moved_to),
        "requests": sum(outcomes.values()),
        "errors": outcomes["errors"],
        "by_version": dict(outcomes),
    }


def champions() -> list[str]:
    from mlflow import MlflowClient

    return sorted(
        model.name
        for model in MlflowClient().search_registered_models()
        if "champion" in model.aliases
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path.cwd(), help="with a demo store")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per model")
    parser.add_argument("--model", action="append", help="registered model (default: all)")
    args = parser.parse_args()

    from components.core import tracking

    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        # A copy of the store: the bench registers a version and moves an alias in it.
        shutil.copytree(args.workspace / "mlruns", workspace / "mlruns", symlinks=True)
        os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        tracking.configure(workspace)
        names = args.model or champions()
        if not names:
            raise SystemExit(f"no champion in {args.workspace}: run `make demo` first")
        results = [latency(name, workspace, args.requests) for name in names]
        swap = hot_swap(names[0], workspace)
    for row in results:
        print(
            f"{row['model']:32s} in-process p50 {row['in_process']['p50_ms']:7.2f} ms  "
            f"HTTP p50 {row['http']['p50_ms']:7.2f} ms  p99 {row['http']['p99_ms']:7.2f} ms  "
            f"ratio {row['http_over_in_process_p50']:.2f}"
        )
    print(
        f"hot swap of {swap['model']}: {swap['requests']} requests, {swap['errors']} errors, "
        f"{swap['by_version']}"
    )
    write_results("serving", {**run_header("demo store"), "latency": results, "hot_swap": swap})


if __name__ == "__main__":
    main()
