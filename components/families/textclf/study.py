"""The optimizer study: one model trained with each optimizer, compared on one parent run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from components.core.plots import plot_compared_curves

CURVES = ("val_loss", "val_accuracy")


def trial_histories(trials: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """Optimizer -> its run's per-epoch validation curves, as MLflow recorded them."""
    from mlflow import MlflowClient

    client = MlflowClient()
    histories = {}
    for name, run_id in trials.items():
        histories[name] = {
            metric: [
                point.value
                for point in sorted(
                    client.get_metric_history(run_id, metric), key=lambda point: point.step
                )
            ]
            for metric in CURVES
        }
    return histories


def summarize_optimizers(trials: dict[str, str], title: str, study_run_id: str) -> pd.DataFrame:
    """Plot every optimizer's validation curves together on the study run; log a summary
    table and each optimizer's best validation loss there; return the summary."""
    from mlflow import MlflowClient

    histories = trial_histories(trials)
    summary = (
        pd.DataFrame(
            [
                {
                    "optimizer": name,
                    "best_val_loss": min(history["val_loss"]),
                    "best_val_accuracy": max(history["val_accuracy"]),
                    "final_val_loss": history["val_loss"][-1],
                    "epochs": len(history["val_loss"]),
                }
                for name, history in histories.items()
            ]
        )
        .sort_values("best_val_loss", kind="stable")
        .reset_index(drop=True)
    )
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as scratch:
        plot = plot_compared_curves(
            histories, list(CURVES), title, Path(scratch) / "optimizer_study.png"
        )
        client.log_artifact(study_run_id, str(plot))
        table = Path(scratch) / "optimizer_study.json"
        table.write_text(summary.to_json(orient="records", indent=2))
        client.log_artifact(study_run_id, str(table))
    for row in summary.itertuples():
        client.log_metric(study_run_id, f"best_val_loss_{row.optimizer}", row.best_val_loss)
    client.set_tag(study_run_id, "optimizer_study.best", summary["optimizer"].iloc[0])
    return summary
