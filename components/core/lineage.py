"""Where a registered model version came from: its run, code, data, config and scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from components.core.errors import UserError
from components.core.registry import version_run_id


@dataclass(frozen=True)
class Lineage:
    """A registered model version and everything that produced it."""

    registered_model: str
    version: str
    aliases: list[str]
    run_id: str
    run_name: str
    experiment: str
    tags: dict[str, str]  # family, task, model, git commit, data version, config digest
    params: dict[str, str]  # the config the run really used, flattened
    metrics: dict[str, float]
    datasets: list[str]  # "context: name (digest)"

    @property
    def data_version(self) -> str:
        return self.tags.get("data.dvc_hash", "")

    @property
    def git_commit(self) -> str:
        return self.tags.get("git.commit", "")


PROVENANCE_TAGS = (
    "seqpipe.family",
    "seqpipe.task",
    "seqpipe.model",
    "seqpipe.profile",
    "git.commit",
    "data.dvc_hash",
    "data.file_md5",
    "data.path",
    "config.digest",
    "gate.decision",
    "gate.reason",
)


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``NAME@ALIAS``, ``NAME/VERSION`` or ``NAME`` (the champion) -> (name, alias, version)."""
    if "@" in reference:
        name, alias = reference.rsplit("@", 1)
        return name, alias, None
    if "/" in reference and reference.rsplit("/", 1)[1].isdigit():
        name, version = reference.rsplit("/", 1)
        return name, None, version
    return reference, "champion", None


def lineage(reference: str) -> Lineage:
    """The lineage of the model version ``reference`` names.

    Raises:
        UserError: if the registered model, alias or version does not exist.
    """
    name, alias, number = parse_reference(reference)
    client = MlflowClient()
    try:
        registered = client.get_registered_model(name)
        version = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, str(number))
        )
    except MlflowException:
        known = sorted(model.name for model in client.search_registered_models())
        raise UserError(f"no model version {reference!r}; registered models: {known}") from None
    run = client.get_run(version_run_id(version))
    experiment = client.get_experiment(run.info.experiment_id).name
    datasets = [
        f"{next((tag.value for tag in item.tags if tag.key == 'mlflow.data.context'), '?')}: "
        f"{item.dataset.name} ({item.dataset.digest})"
        for item in (run.inputs.dataset_inputs if run.inputs else [])
    ]
    return Lineage(
        registered_model=name,
        version=str(version.version),
        aliases=sorted(
            alias
            for alias, aliased in registered.aliases.items()
            if str(aliased) == str(version.version)
        ),
        run_id=run.info.run_id,
        run_name=run.info.run_name,
        experiment=experiment,
        tags={key: run.data.tags[key] for key in PROVENANCE_TAGS if key in run.data.tags},
        params=dict(sorted(run.data.params.items())),
        metrics=dict(sorted(run.data.metrics.items())),
        datasets=datasets,
    )


def as_dict(found: Lineage) -> dict[str, Any]:
    """The lineage as plain data (for ``--json``)."""
    from dataclasses import asdict

    return asdict(found) | {"data_version": found.data_version, "git_commit": found.git_commit}
