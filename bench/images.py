"""Generative image benchmark: diffusion against fid_real, the DCGAN, the VAE and the
PCA-Gaussian generator; the linear autoencoder against PCA.

Run with ``make bench`` (or ``python -m bench.images --help``). Every model trains through the
real flow (Prefect + MLflow) on the chosen profile, one model at a time; every generator is
scored in the feature space of the same digit classifier, so the figures compare directly.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench import family_arguments, run_header, write_results
from components.families import get_family

FAMILY = "images"
FID_TARGET = 3.0  # diffusion's test_fid within this many times fid_real
GENERATOR_COLUMNS = ["fid_real", "classifier_test_accuracy", "test_label_coverage", "train_seconds"]
PCA_CHECK = [
    "pca_max_angle_degrees",
    "pca_mean_angle_degrees",
    "test_recon_mse_pca",
    "test_recon_mse_vs_pca",
]


def scores(metric: str, extras: list[str]) -> dict[str, dict[str, float | None]]:
    """Run name -> the gate metric and ``extras`` of every scored run in the workspace."""
    from components.core.leaderboard import leaderboard_rows

    rows = leaderboard_rows(FAMILY, metric, False, extras, limit=1000)
    latest = sorted(rows, key=lambda row: row["started"])  # a rerun replaces a model's row
    return {row["run"]: {name: row[name] for name in [metric, *extras]} for row in latest}


def summarize() -> dict[str, Any]:
    """The targets' figures: diffusion vs fid_real, the DCGAN, the VAE and the PCA-Gaussian
    generator; the linear autoencoder's principal angles and MSE against PCA."""
    generators = scores("test_fid", GENERATOR_COLUMNS)
    autoencoders = scores("test_recon_mse", ["train_seconds", *PCA_CHECK])
    diffusion = min(
        (name for name in generators if name.startswith("ddpm")),
        key=lambda name: generators[name]["test_fid"],
    )
    fid = {name: row["test_fid"] for name, row in generators.items()}
    fid_real = generators[diffusion]["fid_real"]
    summary: dict[str, Any] = {
        "fid_real": fid_real,
        "best_diffusion": diffusion,
        "diffusion_fid_vs_real": fid[diffusion] / fid_real,
        "diffusion_within_target": fid[diffusion] / fid_real <= FID_TARGET,
        "diffusion_beats_dcgan": fid[diffusion] < fid.get("dcgan", float("inf")),
        "diffusion_beats_vae": fid[diffusion] < fid.get("vae", float("inf")),
        "diffusion_beats_pca_gaussian": fid[diffusion] < fid.get("pca_gaussian", float("inf")),
    }
    linear = autoencoders.get("linear_ae")
    if linear:
        summary["linear_ae_vs_pca"] = {name: linear[name] for name in PCA_CHECK}
        summary["linear_ae_within_5_percent_of_pca"] = linear["test_recon_mse_vs_pca"] <= 1.05
    return {"summary": summary, "generators": generators, "autoencoders": autoencoders}


def main() -> None:
    parser = family_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()

    from pipelines.flow import pipeline_flow

    family = get_family(FAMILY)
    document = yaml.safe_load(family.default_config.read_text())
    # One model at a time: training times are then comparable, and a seed reproduces a run.
    document["parallel_models"] = 1
    results: dict[str, Any] = run_header(args.profile)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = args.workspace or Path(scratch) / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
        config_path = Path(scratch) / "images-bench.yaml"
        config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        pipeline_flow(
            FAMILY, profile=args.profile, config_path=str(config_path), models=args.models
        )
        results |= summarize()
        write_results(f"images-{args.profile}", results)
    print(json.dumps(results["summary"], indent=2))


if __name__ == "__main__":
    main()
