"""``seqpipe reproduce``: train a registered model version again from what it recorded.

The version's run names its data version (the DVC hash of ``data/``), its raw file and that
file's md5, and nests under a pipeline run that logged the whole config. The reproduction pulls
that data version from the workspace's DVC remote into a scratch folder, checks the file's md5,
validates and prepares it as the flow did, trains the same model with the same config and
seed, scores it on the same test split, and compares the gate metric. It is logged as a run of
its own (``seqpipe.kind = reproduction``), beside the original in its experiment and never in
a leaderboard; the code is the checkout's, and the report says whether its commit is the one
the version recorded.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from components.core import stages
from components.core.contract import Task
from components.core.errors import UserError
from components.core.lineage import Lineage, lineage
from components.core.tracking import git_commit
from components.core.validation import DataValidationError
from components.core.versioning import DataVersion, checkout_data_version, file_md5
from components.families import get_family
from pipelines.common import PROJECT_DIR, recorded_config

KIND = "reproduction"  # seqpipe.kind of a reproduction's run


@dataclass(frozen=True)
class Reproduction:
    """A registered version trained again, and how close it came."""

    original: Lineage
    run_id: str  # the reproduction's MLflow run
    metric: str  # the gate metric of the version's registered model
    recorded: float
    reproduced: float
    current_commit: str

    @property
    def relative_difference(self) -> float:
        """|reproduced - recorded| / |recorded| (0 when both are 0)."""
        gap = abs(self.reproduced - self.recorded)
        return gap / abs(self.recorded) if self.recorded else (0.0 if gap == 0 else math.inf)

    @property
    def same_code(self) -> bool:
        return bool(self.current_commit) and self.current_commit == self.original.git_commit


def reproduce(reference: str, workspace: Path) -> Reproduction:
    """Train the model version ``reference`` (``NAME@ALIAS``, ``NAME/VERSION``) again.

    Raises:
        UserError: if the version, its config or its data version cannot be found, or the
            pulled data is not the recorded file.
    """
    original = lineage(reference)
    tags = original.tags
    family = get_family(tags["seqpipe.family"])
    task = tags["seqpipe.task"]
    client = MlflowClient()
    run = client.get_run(original.run_id)
    config = recorded_config(family, run)
    runs = config.runs()
    candidates = {
        candidate.key: candidate for candidate in runs + family.baseline_runs(config, runs)
    }
    if original.run_name not in candidates:
        raise UserError(f"the recorded config has no model run {original.run_name!r}")
    model_run = candidates[original.run_name]
    metric = family.gate(config, model_run).metric

    with tempfile.TemporaryDirectory(prefix="seqpipe-reproduce-") as scratch:
        checkout_data_version(workspace, original.data_version, Path(scratch))
        raw = Path(scratch) / tags["data.path"]
        if not raw.exists() or file_md5(raw) != tags["data.file_md5"]:
            raise UserError(
                f"data version {original.data_version} does not hold {tags['data.path']} with "
                f"md5 {tags['data.file_md5']}"
            )
        data = DataVersion(original.data_version, tags["data.file_md5"], tags["data.path"])
        bound = Task(config, task)
        frame = family.read_raw(raw, bound)
        report = family.validate(frame, bound)
        if not report.success:
            raise DataValidationError(report)
        prepared = family.prepare(frame, bound, data)
        run_id = stages.train(
            family,
            prepared,
            model_run,
            run.info.experiment_id,
            parent_run_id=None,
            # Named after the original: a reproduction cut short resumes as training does.
            backup_dir=workspace / ".seqpipe" / "backups" / f"reproduce-{original.run_id}",
            project_dir=PROJECT_DIR,
            log_model=False,
            extra_tags={
                "seqpipe.kind": KIND,
                "seqpipe.reproduces": f"{original.registered_model}/{original.version}",
                "seqpipe.reproduces_run": original.run_id,
            },
        )
    result = Reproduction(
        original,
        run_id,
        metric,
        recorded=original.metrics[metric],
        reproduced=client.get_run(run_id).data.metrics[metric],
        current_commit=git_commit(PROJECT_DIR),
    )
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(
            {
                f"recorded_{metric}": result.recorded,
                "relative_difference": result.relative_difference,
            }
        )
    return result
