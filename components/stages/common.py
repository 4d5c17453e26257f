"""What the stages of every family share: provenance tags, validation reports, model URIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow

from components.config import config_digest
from components.tracking import git_commit
from components.validation import DataValidationError, ValidationReport
from components.versioning import DataVersion

MODEL_URI_TAG = "seqpipe.model_uri"  # the run's logged model, what evaluation and registry load


def provenance_tags(
    family: str,
    identity: dict[str, str],
    config: Any,
    data: DataVersion,
    project_dir: Path,
    parent_run_id: str | None = None,
) -> dict[str, str]:
    """Tags every model run carries: what it is (``identity``: model, registered model, ...),
    what data, code and config produced it, and the pipeline run it nests under, if any."""
    parent = {"mlflow.parentRunId": parent_run_id} if parent_run_id else {}
    return {
        "seqpipe.family": family,
        "seqpipe.kind": "model",
        **parent,
        **identity,
        "seqpipe.profile": config.profile,
        "data.dvc_hash": data.dvc_hash,
        "data.file_md5": data.file_md5,
        "data.path": data.path,
        "git.commit": git_commit(project_dir),
        "config.digest": config_digest(config),
    }


def write_report(report: ValidationReport, report_dir: Path) -> Path:
    """Write a suite's JSON result; raise ``DataValidationError`` when the data failed it."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "validation.json"
    path.write_text(report.to_json())
    if not report.success:
        raise DataValidationError(report)
    return path


def logged_model_uri(run_id: str) -> str:
    """The ``models:/`` URI of the model a training run logged."""
    return mlflow.get_run(run_id).data.tags[MODEL_URI_TAG]
