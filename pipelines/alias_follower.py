"""Keep the version a registry alias points at loaded, and say honestly what is served.

``models:/NAME@ALIAS`` is resolved to a version and loaded in the background; a daemon thread
polls the alias and, when it points at another version, loads that version beside the served
one and swaps a single reference. A request holds the model it started with, so requests in
flight finish on the old version and none fail during the swap.

When the alias cannot be followed (it was deleted, or its new version cannot load) the
previous version goes on answering but is *stale*: ``status()`` names the version that
failed and why, for the readiness and version endpoints. A version that failed to load is
not loaded again on every poll: registered versions do not change, so it is retried only
after ``retry_failed_seconds`` (in case the failure was the network's).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from components.core.prediction_log import Prediction
from components.core.serving_checks import short_reason

logger = logging.getLogger("seqpipe.serve")

DEFAULT_POLL_SECONDS = 10.0
DEFAULT_RETRY_FAILED_SECONDS = 300.0


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and what produced it."""

    name: str
    alias: str
    version: str
    run_id: str
    data_version: str | None  # DVC hash of the data the run trained on
    git_commit: str | None
    model_name: str | None  # the family's model (e.g. gru, sarima)
    loaded_at: str
    model: Any = field(repr=False)  # mlflow.pyfunc.PyFuncModel
    # The request MLflow saved beside the model (its input example in the scoring protocol).
    serving_example: dict[str, Any] | None = field(default=None, repr=False)

    @cached_property
    def python_model(self) -> Any:
        """The family's own model behind the pyfunc; None for a model of another flavor."""
        try:
            return self.model.unwrap_python_model()
        except MlflowException:
            return None

    @cached_property
    def batches_requests(self) -> bool:
        """Whether concurrent requests should be predicted together (``predict_batch``)."""
        batches = getattr(self.python_model, "batches_requests", None)
        return bool(callable(batches) and batches())

    def prediction(
        self, request_id: str, inputs: Any, outputs: Any, source: str = "server"
    ) -> Prediction:
        """The prediction-log record of one request this version answered."""
        return Prediction(
            request_id=request_id,
            registered_model=self.name,
            alias=self.alias,
            version=self.version,
            run_id=self.run_id,
            inputs=inputs,
            outputs=outputs,
            source=source,
        )

    def describe(self) -> dict[str, Any]:
        """The served version's lineage, as the version endpoint answers it."""
        return {
            "registered_model": self.name,
            "alias": self.alias,
            "version": self.version,
            "run_id": self.run_id,
            "model": self.model_name,
            "data_version": self.data_version,
            "git_commit": self.git_commit,
            "loaded_at": self.loaded_at,
        }


class LoadEvents(Protocol):
    """Who hears of every load: the server's metrics."""

    def loaded(self, seconds: float, swapped: bool) -> None: ...

    def load_failed(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class FollowerStatus:
    """What the follower serves and whether that is what the alias points at."""

    served: ServedModel | None
    loading: str | None  # which version is loading and for how long, if one is
    problem: str | None  # why the alias could not be followed, if it could not
    failed_version: str | None  # the alias' version that failed to load, if one did

    @property
    def stale(self) -> bool:
        """A version is answering, but not (or not known to be) the alias' version."""
        return self.served is not None and self.problem is not None

    def describe(self) -> dict[str, Any]:
        """The served version's lineage with its staleness, for the version endpoint."""
        described = self.served.describe() if self.served else {"version": None}
        return {
            **described,
            "stale": self.stale,
            "failed_version": self.failed_version,
            "problem": self.problem,
        }


class AliasFollower:
    """Keeps the version an alias points at loaded; swaps it in when the alias moves."""

    def __init__(
        self,
        name: str,
        alias: str,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        retry_failed_seconds: float = DEFAULT_RETRY_FAILED_SECONDS,
        events: LoadEvents | None = None,
    ):
        self.name, self.alias = name, alias
        self.poll_seconds, self.retry_failed_seconds = poll_seconds, retry_failed_seconds
        self.events = events
        self._served: ServedModel | None = None
        self._loading: tuple[str, float] | None = None  # (version, when its load began)
        self._problem: str | None = None
        self._failed: tuple[str, float] | None = None  # (version, when it failed)
        self._lock = threading.Lock()  # one refresh at a time: the poller's or a caller's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def served(self) -> ServedModel | None:
        return self._served

    @property
    def problem(self) -> str | None:
        return self._problem

    def status(self) -> FollowerStatus:
        failed = self._failed[0] if self._failed else None
        loading = None
        if self._loading is not None:
            version, since = self._loading
            loading = f"version {version} loading for {time.monotonic() - since:.0f} s"
        return FollowerStatus(self._served, loading, self._problem, failed)

    def refresh(self) -> bool:
        """Load the alias' version if it is not the one served; return whether it swapped.

        A failure (alias missing, model not loadable) keeps the served version, marks it
        stale, and writes one log line when the problem is new.
        """
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        uri = f"models:/{self.name}@{self.alias}"
        client = mlflow.MlflowClient()
        try:
            target = str(client.get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as error:
            self._fail(None, f"{uri}: {short_reason(error.message)}", 0.0)
            return False
        if self._served is not None and self._served.version == target:
            self._problem, self._failed = None, None
            return False
        failed_recently = (
            self._failed is not None
            and self._failed[0] == target
            and time.monotonic() - self._failed[1] < self.retry_failed_seconds
        )
        if failed_recently:
            return False
        self._loading = (target, time.monotonic())
        started = time.perf_counter()
        try:
            # Load by version, not alias: the alias may move again while this one loads.
            loaded = self._load(target)
        except MlflowException as error:
            reason = f"{uri}: version {target} failed to load: {short_reason(error.message)}"
            self._fail(target, reason, time.perf_counter() - started)
            return False
        except Exception as error:  # a model's own code failed to load: still not fatal
            reason = f"{uri}: version {target} failed to load: {type(error).__name__}: {error}"
            self._fail(target, short_reason(reason), time.perf_counter() - started)
            return False
        finally:
            self._loading = None
        seconds = time.perf_counter() - started
        previous = self._served
        self._served, self._problem, self._failed = loaded, None, None
        logger.info(
            "%s: serving version %s (was %s), loaded in %.1f s",
            uri,
            target,
            previous.version if previous else "none",
            seconds,
        )
        if self.events:
            self.events.loaded(seconds, swapped=previous is not None)
        return True

    def _load(self, version: str) -> ServedModel:
        client = mlflow.MlflowClient()
        # Downloaded once, then loaded from disk: the same files give the serving example.
        local = mlflow.artifacts.download_artifacts(f"models:/{self.name}/{version}")
        model = mlflow.pyfunc.load_model(local)
        example = Model.load(local).get_serving_input(local)
        registered = client.get_model_version(self.name, version)
        tags = client.get_run(registered.run_id).data.tags if registered.run_id else {}
        return ServedModel(
            name=self.name,
            alias=self.alias,
            version=version,
            run_id=registered.run_id or "",  # "" for a version registered from no run
            data_version=tags.get("data.dvc_hash"),
            git_commit=tags.get("git.commit"),
            model_name=tags.get("seqpipe.model"),
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model=model,
            serving_example=json.loads(example) if example else None,
        )

    def _fail(self, version: str | None, reason: str, seconds: float) -> None:
        new = reason != self._problem
        self._problem = reason
        if version is not None:
            self._failed = (version, time.monotonic())
            if self.events:
                self.events.load_failed(seconds)
        if new or version is not None:  # one line per failed load, or per new problem
            served = self._served.version if self._served else None
            logger.warning(
                "%s (%.1f s); %s",
                reason,
                seconds,
                f"still serving version {served}, now stale" if served else "serving nothing",
            )

    def start(self) -> None:
        """Follow the alias in a daemon thread, loading the current version first.

        Returns at once: the server answers probes while the first version loads.
        """
        self._thread = threading.Thread(target=self._follow, name="alias-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_seconds + 5)

    def _follow(self) -> None:
        self.refresh()
        while not self._stop.wait(self.poll_seconds):
            self.refresh()
