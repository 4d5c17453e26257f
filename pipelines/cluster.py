"""Where a flow's models train: the flow's own threads, or the workers of a Dask cluster.

On Dask (config ``runner: {kind: dask, address: ...}``) each model's train and evaluate
stages run on a worker, through ``prefect-dask``'s task runner, so Prefect still tracks every
task run; everything else of the flow (ingest, validation, the registry gate) stays in the
flow's process, so there is one gate per registered model whichever worker finishes first.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from components.core import tracking
from components.core.config import RunnerConfig
from components.core.errors import UserError

# How long the flow waits for the scheduler to answer before saying it cannot reach it.
CONNECT_TIMEOUT = "20s"


@contextmanager
def models_runner(runner: RunnerConfig) -> Iterator[Any]:
    """The task runner the flow's model stages are submitted to, while they run.

    Raises:
        UserError: if the Dask scheduler does not answer (the message names its address).
    """
    if runner.kind == "threads":
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
        if context is None or context.task_runner is None:
            raise RuntimeError("models are submitted from inside a flow run")
        yield context.task_runner
        return
    from prefect_dask import DaskTaskRunner

    dask_runner = DaskTaskRunner(address=runner.address, client_kwargs={"timeout": CONNECT_TIMEOUT})
    try:
        dask_runner.__enter__()
    except (OSError, TimeoutError) as error:
        raise UserError(
            f"the Dask scheduler at {runner.address} does not answer ({error}); start it "
            "(`dask scheduler`, then `dask worker ADDRESS`), fix runner.address, or set "
            "runner.kind: threads"
        ) from None
    try:
        yield dask_runner
    finally:
        dask_runner.__exit__(None, None, None)


def batch_size(runner: RunnerConfig, parallel_models: int, group: int) -> int:
    """How many models are submitted at once: ``parallel_models`` of the flow's threads, or a
    whole group to a cluster, whose workers' threads bound how many run."""
    return parallel_models if runner.kind == "threads" else max(group, 1)


def worker_tags() -> dict[str, str]:
    """The Dask worker running this model's stage, when it runs on one."""
    try:
        from distributed import get_worker
    except ImportError:
        return {}
    try:
        worker = get_worker()
    except ValueError:  # not inside a Dask worker
        return {}
    return {"seqpipe.dask_worker": str(worker.address)}


def check_reachable(tracking_uri: str, workspace: Path) -> None:
    """What a model stage needs wherever it runs: the tracking server and the workspace (its
    resumable backups). A worker that lacks either fails at once, naming it.

    Raises:
        UserError: naming the server or folder this process cannot reach.
    """
    host = socket.gethostname()
    if not tracking.is_embedded(tracking_uri):
        try:
            tracking.check_server(tracking_uri)
        except UserError as error:
            raise UserError(f"on {host}: {error}") from None
    if not workspace.is_dir():
        raise UserError(
            f"on {host}: the workspace {workspace} is not reachable; every worker mounts the "
            "same workspace at the same path (its backups let a model resume anywhere)"
        )
