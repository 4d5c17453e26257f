"""Model serving benchmark: `seqpipe serve` against an in-process predict and against
`mlflow models serve` on the same versions; request batching, the shadow's cost, and the
alias hot swap under load.

Run after `make demo` (or any run that registered champions): ``python -m bench.serving``.
It works on a copy of the workspace's MLflow store, so the registry it measures is left as
it was. Besides the champions it registers the best forecasting network (the demo's champion
there is gradient boosting), so that batching is measured on a network of each kind. Per
model, all in one run:

- latency: p50 / p99 of ``predict`` on the model's own input example in process, and over
  HTTP (one keep-alive client, requests one after another) to `seqpipe serve`, to `seqpipe
  serve --shadow challenger`, and to `mlflow models serve`;
- throughput of the networks at 8 clients: `seqpipe serve` batching concurrent requests,
  the same server with batching off (``--max-batch-size 1``), and `mlflow models serve`;
- the hot swap: four clients send requests while the alias moves to another version, and
  every answer is counted by the version that gave it, errors apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import run_header, write_results
from bench.services import BIN, free_port, process, seqpipe_env, wait_for

READY_TIMEOUT_SECONDS = 240
NETWORK_MODEL = "forecasting-chicago-network"  # registered by the bench beside the champions


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(seconds)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    for _ in range(5):
        call()  # warm-up: first calls build graphs and caches
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


@contextmanager
def seqpipe_server(
    name: str, workspace: Path, *options: str, poll_seconds: float = 60
) -> Iterator[str]:
    """A `seqpipe serve` process for ``name@champion`` with ``options``; yields its URL once
    it answers /ping."""
    port = free_port()
    command = [str(BIN / "seqpipe"), "serve", name, "--port", str(port)]
    command += ["--poll-seconds", str(poll_seconds), *options]
    command += ["--prediction-log", str(workspace / "predictions")]
    log = workspace / "logs" / f"seqpipe-{name}-{port}.log"
    with serving(command, seqpipe_env(workspace), log, port) as url:
        yield url


@contextmanager
def mlflow_server(name: str, version: str, workspace: Path) -> Iterator[str]:
    """`mlflow models serve` on ``name``'s ``version``, from this environment (the models
    import the project's code); yields its URL once it answers /ping."""
    from components.core import tracking

    port = free_port()
    command = [str(BIN / "mlflow"), "models", "serve", "--env-manager", "local"]
    command += ["-m", f"models:/{name}/{version}", "--host", "127.0.0.1", "--port", str(port)]
    # MLflow's server execs `uvicorn` by name: the environment's scripts come first on PATH.
    env = seqpipe_env(workspace, PATH=f"{BIN}:{os.environ['PATH']}")
    env["MLFLOW_TRACKING_URI"] = tracking.tracking_uri(workspace)
    log = workspace / "logs" / f"mlflow-{name}-{port}.log"
    with serving(command, env, log, port) as url:
        yield url


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[str]:
    log.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    with process(command, env, log, cwd=Path(env["SEQPIPE_WORKSPACE"])) as server:

        def ready() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"{command[1]} exited: see {log}")
            try:
                return httpx.get(f"{url}/ping", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, READY_TIMEOUT_SECONDS, f"{' '.join(command[:3])} on {port}", 0.5)
        yield url


def serving_input(uri: str) -> dict[str, Any]:
    """The request body MLflow saved beside the model's input example."""
    import mlflow

    local = mlflow.artifacts.download_artifacts(uri)
    return json.loads(mlflow.models.Model.load(local).get_serving_input(local))


def http_latency(url: str, body: dict[str, Any], repeats: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=60) as client:

        def request() -> None:
            client.post("/invocations", json=body).raise_for_status()

        return percentiles(timed(request, repeats))


def latency(name: str, workspace: Path, repeats: int) -> dict[str, Any]:
    """One model's p50 / p99 in process and over HTTP to each server, on its input example."""
    import mlflow

    uri = f"models:/{name}@champion"
    model = mlflow.pyfunc.load_model(uri)
    example = model.input_example
    version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
    row: dict[str, Any] = {"model": name, "version": version, "requests": repeats}
    row["in_process"] = percentiles(timed(lambda: model.predict(example), repeats))
    body = serving_input(uri)
    with seqpipe_server(name, workspace) as url:
        row["seqpipe"] = http_latency(url, body, repeats)
    with seqpipe_server(name, workspace, "--shadow", "challenger") as url:
        row["seqpipe_shadow"] = http_latency(url, body, repeats)
    with mlflow_server(name, version, workspace) as url:
        row["mlflow"] = http_latency(url, body, repeats)
    p50 = {server: row[server]["p50_ms"] for server in ("in_process", "seqpipe", "mlflow")}
    row["seqpipe_minus_in_process_p50_ms"] = p50["seqpipe"] - p50["in_process"]
    row["shadow_over_plain_p50"] = row["seqpipe_shadow"]["p50_ms"] / p50["seqpipe"]
    row["seqpipe_over_mlflow_p50"] = p50["seqpipe"] / p50["mlflow"]
    return row


def requests_per_second(url: str, body: dict[str, Any], clients: int, seconds: float) -> float:
    """Answers per second to ``clients`` keep-alive clients sending one request after another."""
    answered, errors = Counter[int](), []
    start, stop = threading.Barrier(clients + 1), threading.Event()

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as session:
            session.post("/invocations", json=body)  # a warm connection before the clock
            start.wait()
            while not stop.is_set():
                response = session.post("/invocations", json=body)
                if response.status_code == 200:
                    answered[index] += 1
                else:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests under load: {Counter(errors)}")
    return sum(answered.values()) / elapsed


def throughput(name: str, workspace: Path, clients: int, seconds: float) -> dict[str, Any]:
    """Requests per second at ``clients`` clients: batched, unbatched, and MLflow's server."""
    import mlflow

    version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
    body = serving_input(f"models:/{name}@champion")
    row: dict[str, Any] = {"model": name, "version": version, "clients": clients}
    with seqpipe_server(name, workspace) as url:
        row["batched_rps"] = requests_per_second(url, body, clients, seconds)
        metrics = httpx.get(f"{url}/metrics").text
        row["mean_batch_size"] = mean_batch_size(metrics)
    with seqpipe_server(name, workspace, "--max-batch-size", "1") as url:
        row["unbatched_rps"] = requests_per_second(url, body, clients, seconds)
    with mlflow_server(name, version, workspace) as url:
        row["mlflow_rps"] = requests_per_second(url, body, clients, seconds)
    row["batched_over_unbatched"] = row["batched_rps"] / row["unbatched_rps"]
    row["batched_over_mlflow"] = row["batched_rps"] / row["mlflow_rps"]
    return row


def mean_batch_size(exposition: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        if family.name.endswith("_prediction_batch_size"):
            values = {sample.name[len(family.name) :]: sample.value for sample in family.samples}
            return values["_sum"] / values["_count"] if values["_count"] else 0.0
    return 0.0


def hot_swap(name: str, workspace: Path, clients: int = 4) -> dict[str, Any]:
    """Requests answered by each version while the champion alias moves under load."""
    from mlflow import MlflowClient

    registry = MlflowClient()
    current = registry.get_model_version_by_alias(name, "champion")
    # A second version of the same model, so the alias has somewhere to move.
    moved_to = registry.create_model_version(name, current.source, current.run_id).version
    body = serving_input(f"models:/{name}@champion")
    outcomes: Counter[str] = Counter()
    stop = threading.Event()
    with seqpipe_server(name, workspace, poll_seconds=0.5) as url:

        def load() -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    response = client.post("/invocations", json=body)
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
    return {
        "model": name,
        "clients": clients,
        "from_version": str(current.version),
        "to_version": str(moved_to),
        "requests": sum(outcomes.values()),
        "errors": outcomes["errors"],
        "by_version": dict(outcomes),
    }


def register_best_network(experiment: str = "forecasting-chicago") -> str | None:
    """Register the forecasting network with the lowest one-day test MAE as its own model,
    champion and challenger, in the bench's copy of the store."""
    import mlflow

    from components.families.forecasting.networks import KERAS_BUILDERS

    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = mlflow.search_runs(
        [found.experiment_id],
        filter_string="attributes.status = 'FINISHED' and metrics.test_mae > 0",
        order_by=["metrics.test_mae ASC"],
        output_format="list",
    )
    networks = [
        run
        for run in runs
        if run.data.tags.get("seqpipe.model") in KERAS_BUILDERS
        and run.data.tags.get("mlflow.runName", "").endswith("-h1")
        and run.outputs
        and run.outputs.model_outputs
    ]
    if not networks:
        return None
    best = networks[0]
    model_id = best.outputs.model_outputs[0].model_id
    version = mlflow.register_model(f"models:/{model_id}", NETWORK_MODEL).version
    client = mlflow.MlflowClient()
    for alias in ("champion", "challenger"):
        client.set_registered_model_alias(NETWORK_MODEL, alias, version)
    print(f"{NETWORK_MODEL}: {best.data.tags['seqpipe.model']} (run {best.info.run_id})")
    return NETWORK_MODEL


def champions() -> list[str]:
    from mlflow import MlflowClient

    return sorted(
        model.name
        for model in MlflowClient().search_registered_models()
        if "champion" in model.aliases
    )


def batching_models(names: Sequence[str]) -> list[str]:
    """The models whose served pyfunc batches concurrent requests (the networks)."""
    import mlflow

    batching = []
    for name in names:
        python_model = mlflow.pyfunc.load_model(f"models:/{name}@champion").unwrap_python_model()
        if python_model.batches_requests():
            batching.append(name)
    return batching


def report(latencies: list[dict[str, Any]], loads: list[dict[str, Any]], swap: dict) -> None:
    print("p50 ms (p99)         in process     seqpipe   +shadow   mlflow serve")
    for row in latencies:
        cells = [
            f"{row[server]['p50_ms']:7.2f} ({row[server]['p99_ms']:6.1f})"
            for server in ("in_process", "seqpipe", "seqpipe_shadow", "mlflow")
        ]
        print(f"{row['model']:30s} " + "  ".join(cells))
    print("requests/s at 8 clients    batched  unbatched  mlflow serve  batched/unbatched")
    for row in loads:
        print(
            f"{row['model']:30s} {row['batched_rps']:7.1f}  {row['unbatched_rps']:9.1f}  "
            f"{row['mlflow_rps']:12.1f}  {row['batched_over_unbatched']:.2f} "
            f"(mean batch {row['mean_batch_size']:.1f})"
        )
    print(
        f"hot swap of {swap['model']}: {swap['requests']} requests, {swap['errors']} errors, "
        f"{swap['by_version']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path.cwd(), help="with a demo store")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per model")
    parser.add_argument("--seconds", type=float, default=20, help="per throughput measure")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model", action="append", help="registered model (default: all)")
    args = parser.parse_args()

    from components.core import tracking

    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        # A copy of the store: the bench registers versions and moves aliases in it.
        shutil.copytree(args.workspace / "mlruns", workspace / "mlruns", symlinks=True)
        os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        tracking.configure(workspace)
        register_best_network()
        names = args.model or champions()
        if not names:
            raise SystemExit(f"no champion in {args.workspace}: run `make demo` first")
        latencies = [latency(name, workspace, args.requests) for name in names]
        loads = [
            throughput(name, workspace, args.clients, args.seconds)
            for name in batching_models(names)
        ]
        swap = hot_swap(names[0], workspace)
    report(latencies, loads, swap)
    write_results(
        "serving",
        {**run_header("demo store"), "latency": latencies, "throughput": loads, "hot_swap": swap},
    )


if __name__ == "__main__":
    main()
