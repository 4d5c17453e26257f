"""MLflow Model Registry: challenger registration, a serving smoke test and the champion gate."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from components.core.config import GateConfig
from components.core.errors import UserError

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous-champion"


@dataclass(frozen=True)
class Candidate:
    """A finished, evaluated run that may enter the registry."""

    run_id: str
    run_name: str
    model_uri: str  # the logged model, models:/m-...
    registered_model: str  # its name in the registry, <family>-<task>[-variant]
    score: float  # the gate metric on the test split
    baseline_score: float  # the family baseline on the same test split
    evaluation_key: str  # identifies the test data and split; equal keys mean comparable scores
    is_baseline: bool = False  # the family baseline itself: champion when nothing beats it
    data_version: str = ""  # DVC hash of the data it was trained and scored on
    baseline_name: str = "the baseline"  # the model whose score is ``baseline_score``


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided for one candidate, and why."""

    registered_model: str
    version: str
    promoted: bool
    score: float
    baseline_score: float
    champion_version: str | None
    champion_score: float | None
    reason: str


def register_best(
    candidates: list[Candidate], config: GateConfig, rescore: Callable[[Candidate, str], float]
) -> list[GateDecision]:
    """Register the flow's pick per registered model as challenger and gate it.

    Every other candidate stays a tracked run, tagged with why it was not registered, so the
    registry holds only models a user could want.
    """
    decisions = []
    by_model: dict[str, list[Candidate]] = {}
    for item in candidates:
        by_model.setdefault(item.registered_model, []).append(item)
    client = MlflowClient()
    for name in sorted(by_model):
        chosen = pick(by_model[name], config)
        for item in by_model[name]:
            # A run gated by an earlier flow (cached on unchanged data) keeps its record.
            if item is not chosen and "gate.decision" not in client.get_run(item.run_id).data.tags:
                client.set_tag(item.run_id, "gate.decision", "not registered")
                client.set_tag(
                    item.run_id,
                    "gate.reason",
                    f"{chosen.run_name} scored better in this flow"
                    if chosen
                    else "no finite score",
                )
        if chosen is None:
            continue
        recorded = recorded_decision(chosen)
        if recorded is not None:  # unchanged data: nothing new to register, no alias moves
            decisions.append(recorded)
            continue
        version = find_or_register(chosen)
        decisions.append(gate(chosen, version, config, partial(rescore, chosen)))
    return decisions


def recorded_decision(candidate: Candidate) -> GateDecision | None:
    """The gate's decision on the candidate's run when an earlier flow registered and gated it
    (a rerun on unchanged data reuses its cached runs), else None.

    A version's decision is written once: why it was promoted stays readable after any number
    of later runs, so this reports it instead of deciding again.
    """
    client = MlflowClient()
    found = client.search_model_versions(
        f"name = '{candidate.registered_model}' and run_id = '{candidate.run_id}'"
    )
    gated = [version for version in found if "gate.decision" in version.tags]
    if not gated:
        return None
    version = gated[0]
    return GateDecision(
        candidate.registered_model,
        str(version.version),
        promoted=False,
        score=candidate.score,
        baseline_score=candidate.baseline_score,
        champion_version=aliases(candidate.registered_model).get(CHAMPION),
        champion_score=None,
        reason=f"already registered and gated ({version.tags['gate.decision']})",
    )


def pick(candidates: list[Candidate], config: GateConfig) -> Candidate | None:
    """The one candidate of a flow worth registering for one registered model.

    The best-scoring model that beats the family baseline by the gate's margin, whatever its
    framework; when none does, the baseline itself (a deployable model too). None when no
    candidate has a finite score.
    """
    scored = [item for item in candidates if math.isfinite(item.score)]
    ranked = sorted(scored, key=lambda item: item.score, reverse=config.greater_is_better)
    for item in ranked:
        if item.is_baseline or beats(item.score, item.baseline_score, config):
            return item
    return None


def describe_registered_model(name: str, tags: dict[str, str], description: str) -> None:
    """Create ``name`` if missing, and give it ``tags`` and ``description`` (what the registry
    page says of it) where they differ from what it has."""
    client = MlflowClient()
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        try:
            registered = client.create_registered_model(name, tags=tags, description=description)
        except MlflowException:  # another flow created it meanwhile
            registered = client.get_registered_model(name)
    if (registered.description or "") != description:
        client.update_registered_model(name, description=description)
    for key, value in tags.items():
        if registered.tags.get(key) != value:
            client.set_registered_model_tag(name, key, value)


def find_or_register(candidate: Candidate) -> str:
    """Register the candidate's model (once per run) and point ``challenger`` at it."""
    client = MlflowClient()
    try:
        client.get_registered_model(candidate.registered_model)
    except MlflowException:
        client.create_registered_model(candidate.registered_model)
    existing = client.search_model_versions(
        f"name = '{candidate.registered_model}' and run_id = '{candidate.run_id}'"
    )
    if existing:
        version = existing[0].version
    else:
        version = mlflow.register_model(
            candidate.model_uri,
            candidate.registered_model,
            # Shown in the registry's UI: rounded; the run's metric keeps the full value.
            tags={"evaluation_key": candidate.evaluation_key, "score": f"{candidate.score:.4g}"},
        ).version
    client.set_registered_model_alias(candidate.registered_model, CHALLENGER, version)
    return str(version)


def version_run_id(version: Any) -> str:
    """The run that logged a registered model version.

    Raises:
        UserError: for a version registered from no run (by hand, from a path).
    """
    if not version.run_id:
        raise UserError(f"{version.name} v{version.version} was registered without a run")
    return str(version.run_id)


def smoke_test(model_name: str, version: str) -> None:
    """Load a version back from the registry and score its own input example.

    Raises:
        RuntimeError: if loading fails or the output is empty or not finite.
    """
    uri = f"models:/{model_name}/{version}"
    try:
        model = mlflow.pyfunc.load_model(uri)
        example = model.input_example
        if example is None:
            raise RuntimeError("the model has no input example")
        output = model.predict(example)
    except Exception as error:  # any failure here means the model cannot serve
        raise RuntimeError(f"serving smoke test of {uri} failed: {error}") from error
    values = np.asarray(
        output.select_dtypes("number") if isinstance(output, pd.DataFrame) else output,
        dtype="float64",
    )
    if values.size == 0 or not np.isfinite(values).all():
        raise RuntimeError(f"serving smoke test of {uri} returned empty or non-finite output")


def beats(score: float, other: float, gate: GateConfig) -> bool:
    """Whether ``score`` beats ``other`` by the gate's relative margin."""
    if gate.greater_is_better:
        return score > other * (1 + gate.margin)
    return score < other * (1 - gate.margin)


class UnreadableModel(RuntimeError):
    """A registered version that can no longer be loaded (its files are gone, or were saved
    in a layout this version of seqpipe does not read): it can be neither scored nor served."""


def version_score(
    client: MlflowClient, version: Any, metric: str | None = None, run: Any = None
) -> float | None:
    """A registered version's gate score on its own test split, in full: its run's metric
    (``metric``, or the version's ``gate.metric``; ``run`` when the caller read it already);
    the rounded ``score`` tag for a version whose run no longer holds it; None when it has
    neither."""
    metric = metric or version.tags.get("gate.metric")
    if metric and version.run_id:
        try:
            run = run or client.get_run(version.run_id)
            value = run.data.metrics.get(metric)
        except MlflowException:
            value = None
        if value is not None:
            return float(value)
    if metric is None or version.tags.get("gate.metric", metric) == metric:
        return float(version.tags["score"]) if "score" in version.tags else None
    return None


def champion_score(
    model_name: str,
    candidate: Candidate,
    rescore: Callable[[str], float],
    metric: str,
) -> tuple[str | None, float | None, str]:
    """The current champion's version, its score on the candidate's test data, and why it
    has none when it cannot be loaded ("" otherwise).

    A champion evaluated on other data (a new data version or split) is scored again with
    ``rescore(model_uri)`` so that both numbers come from the same test days.
    """
    client = MlflowClient()
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None, None, ""
    if champion.tags.get("evaluation_key") == candidate.evaluation_key:
        score = version_score(client, champion, metric)
        if score is not None:
            return str(champion.version), score, ""
    try:
        return str(champion.version), rescore(f"models:/{model_name}/{champion.version}"), ""
    except UnreadableModel as error:
        return str(champion.version), None, str(error)


def gate(
    candidate: Candidate, version: str, config: GateConfig, rescore: Callable[[str], float]
) -> GateDecision:
    """Promote ``version`` to champion if it beats the champion (and, unless it is the
    baseline itself, the family baseline); log why on the run and the version."""
    recorded = recorded_decision(candidate)
    if recorded is not None:
        return recorded
    client = MlflowClient()
    champion_version, best, unreadable = champion_score(
        candidate.registered_model, candidate, rescore, config.metric
    )
    if champion_version == version:
        reason, promoted = "already the champion", False
    elif not math.isfinite(candidate.score):
        reason, promoted = "score is not finite", False
    elif not candidate.is_baseline and not beats(candidate.score, candidate.baseline_score, config):
        reason = f"does not beat {candidate.baseline_name} ({candidate.baseline_score:.4f})"
        promoted = False
    elif best is not None and not beats(candidate.score, best, config):
        reason, promoted = f"does not beat champion v{champion_version} ({best:.4f})", False
    else:
        smoke_test(candidate.registered_model, version)
        if champion_version is not None:
            client.set_registered_model_alias(
                candidate.registered_model, PREVIOUS, champion_version
            )
        point_champion(candidate.registered_model, version)
        if candidate.is_baseline:
            reason = (
                f"no model beats {candidate.baseline_name}, so {candidate.run_name} is champion"
            )
        else:
            reason = f"beats {candidate.baseline_name}" + (
                f" and champion v{champion_version}" if best else ""
            )
        if unreadable:
            reason += f"; champion v{champion_version} is replaced: {unreadable}"
        elif best is None:
            reason += "; first champion"
        promoted = True
    decision = GateDecision(
        candidate.registered_model,
        version,
        promoted,
        candidate.score,
        candidate.baseline_score,
        champion_version,
        best,
        reason,
    )
    _log_decision(candidate, decision, config)
    return decision


def _log_decision(candidate: Candidate, decision: GateDecision, config: GateConfig) -> None:
    client = MlflowClient()
    verdict = "promoted" if decision.promoted else "kept"
    client.set_tag(candidate.run_id, "gate.decision", verdict)
    client.set_tag(candidate.run_id, "gate.reason", decision.reason)
    client.set_tag(candidate.run_id, "gate.registered_version", decision.version)
    if decision.champion_score is not None:
        client.log_metric(
            candidate.run_id, f"gate_champion_{config.metric}", decision.champion_score
        )
    client.set_model_version_tag(
        decision.registered_model,
        decision.version,
        "gate.decision",
        f"{verdict}: {decision.reason}",
    )
    client.set_model_version_tag(
        decision.registered_model, decision.version, "gate.metric", config.metric
    )
    champion = (
        f"champion v{decision.champion_version} {decision.champion_score:.4f}"
        if decision.champion_score is not None
        else "no champion before"
    )
    client.update_model_version(
        decision.registered_model,
        decision.version,
        description=(
            f"{candidate.run_name}; data {candidate.data_version or 'unknown'}; "
            f"{config.metric} {decision.score:.4f} ({candidate.baseline_name} "
            f"{decision.baseline_score:.4f}, {champion}); gate: {verdict}, {decision.reason}."
        ),
    )


def rollback(model_name: str) -> tuple[str, str]:
    """Point ``champion`` back at ``previous-champion``; return (new champion, demoted version).

    Raises:
        UserError: if the model has no previous champion.
    """
    client = MlflowClient()
    try:
        previous = client.get_model_version_by_alias(model_name, PREVIOUS)
    except MlflowException as error:
        raise UserError(f"{model_name} has no {PREVIOUS!r} alias to roll back to") from error
    current = client.get_model_version_by_alias(model_name, CHAMPION)
    client.set_registered_model_alias(model_name, PREVIOUS, current.version)
    point_champion(model_name, str(previous.version))
    return str(previous.version), str(current.version)


# On the run of each registered model's champion version, naming the registered model: the
# runs table finds the champion with ``tags.`seqpipe.champion` = '<registered model>'``.
CHAMPION_TAG = "seqpipe.champion"


def point_champion(model_name: str, version: str) -> None:
    """Point ``champion`` at ``version`` and move the champion tag to its run."""
    MlflowClient().set_registered_model_alias(model_name, CHAMPION, version)
    sync_champion_tag(model_name)


def sync_champion_tag(model_name: str) -> None:
    """Tag the run of the version ``champion`` points at, and untag every other run of the
    registered model, so the tag follows the alias wherever it moved (or was deleted)."""
    client = MlflowClient()
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
        holder = client.get_run(version_run_id(champion))
    except (MlflowException, UserError):
        holder = None  # no champion, or its run is gone: no run holds the title
    experiments = (
        [holder.info.experiment_id]
        if holder
        else [experiment.experiment_id for experiment in client.search_experiments()]
    )
    # A name with a single quote is a string MLflow's filter reads between double quotes.
    quoted = f'"{model_name}"' if "'" in model_name else f"'{model_name}'"
    tagged = client.search_runs(experiments, f"tags.`{CHAMPION_TAG}` = {quoted}", max_results=1000)
    for run in tagged:
        if holder is None or run.info.run_id != holder.info.run_id:
            client.delete_tag(run.info.run_id, CHAMPION_TAG)
    if holder is not None and holder.data.tags.get(CHAMPION_TAG) != model_name:
        client.set_tag(holder.info.run_id, CHAMPION_TAG, model_name)


def aliases(model_name: str) -> dict[str, str]:
    """Alias -> version of a registered model (empty when it does not exist)."""
    try:
        found = MlflowClient().get_registered_model(model_name).aliases
    except MlflowException:
        return {}
    return {alias: str(version) for alias, version in found.items()}


GENERATED = "generated"  # the output column of a model that continues text


def text_generators(alias: str = CHAMPION) -> list[str]:
    """Registered models whose version under ``alias`` continues text (its signature answers
    with a ``generated`` column), by name."""
    client = MlflowClient()
    found = []
    for registered in client.search_registered_models():
        if alias not in registered.aliases:
            continue
        signature = mlflow.models.get_model_info(f"models:/{registered.name}@{alias}").signature
        outputs = signature.outputs if signature else None
        if outputs is not None and outputs.has_input_names() and GENERATED in outputs.input_names():
            found.append(registered.name)
    return sorted(found)


GATE_LOCK_PREFIX = "gate-lock."  # registered models that exist only while a flow gates
STALE_LOCK_SECONDS = 600.0  # a lock this old was left by a process that died mid-gate


@contextmanager
def gate_lock(model_name: str, poll_seconds: float = 0.5) -> Iterator[None]:
    """Hold the registry-wide lock of ``model_name`` while gating it.

    Flows on other machines share the tracking server, not a file system: creating a
    registered model is atomic in the store (its name is unique), so the flow that creates
    the lock's model gates, and the others wait until it is deleted.
    """
    client = MlflowClient()
    name = f"{GATE_LOCK_PREFIX}{model_name}"
    while True:
        try:
            client.create_registered_model(name, description="held while a flow gates")
            break
        except MlflowException:
            try:
                held = client.get_registered_model(name)
            except MlflowException:
                continue  # released meanwhile
            if time.time() - held.creation_timestamp / 1000 > STALE_LOCK_SECONDS:
                client.delete_registered_model(name)
                continue
            time.sleep(poll_seconds)
    try:
        yield
    finally:
        client.delete_registered_model(name)
