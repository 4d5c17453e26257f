"""Text classification benchmark: recurrent classifiers vs TF-IDF, pretraining vs scratch.

Run with ``make bench`` (or ``python -m bench.textclf --help``). Every model trains through the
real flow (Prefect + MLflow) on the chosen profile, once per seed, one model at a time so a
seed reproduces its run. Figures are differences of scores measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench import family_arguments, run_header, write_results
from components.core.contract import Task
from components.families import get_family

FAMILY = "textclf"
BASELINE = "tfidf_logreg"


def model_scores(task: str) -> list[dict[str, Any]]:
    """Every scored run of a task in the workspace's store: name, seed and test scores."""
    from components.core.leaderboard import leaderboard_rows

    family = get_family(FAMILY)
    config = family.load_config()
    registered = family.registered_model(Task(config, task), config.runs()[0])
    rows = leaderboard_rows(
        FAMILY, "test_macro_f1", True, ["test_accuracy"], limit=1000, params=["training.seed"]
    )
    return [
        {
            "run": row["run"],
            "seed": int(row["training.seed"] or -1),
            "test_macro_f1": row["test_macro_f1"],
            "test_accuracy": row["test_accuracy"],
        }
        for row in rows
        if row["model"] == registered
    ]


def summarize(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Per model: mean, spread and per-seed scores; the best RNN's margin over TF-IDF; the
    pretrained LSTM against the same LSTM from scratch."""
    by_model: dict[str, dict[int, dict[str, float]]] = {}
    for row in rows:
        if row["run"] == BASELINE or row["seed"] in seeds:
            by_model.setdefault(row["run"], {})[row["seed"]] = row
    table = []
    for name, per_seed in by_model.items():
        f1 = [per_seed[seed]["test_macro_f1"] for seed in sorted(per_seed)]
        accuracy = [per_seed[seed]["test_accuracy"] for seed in sorted(per_seed)]
        table.append(
            {
                "run": name,
                "seeds": len(f1),
                "test_macro_f1_mean": statistics.fmean(f1),
                "test_macro_f1_sd": statistics.stdev(f1) if len(f1) > 1 else 0.0,
                "test_macro_f1_by_seed": f1,
                "test_accuracy_mean": statistics.fmean(accuracy),
            }
        )
    table.sort(key=lambda row: row["test_macro_f1_mean"], reverse=True)
    means = {row["run"]: row["test_macro_f1_mean"] for row in table}
    baseline = means[BASELINE]
    best = next(row for row in table if row["run"] != BASELINE)
    summary: dict[str, Any] = {
        "baseline_test_macro_f1": baseline,
        "best_rnn": best["run"],
        "best_rnn_test_macro_f1_mean": best["test_macro_f1_mean"],
        "best_rnn_minus_baseline_points": 100 * (best["test_macro_f1_mean"] - baseline),
        "best_rnn_seeds_above_baseline": sum(
            score > baseline for score in best["test_macro_f1_by_seed"]
        ),
    }
    if "lstm" in means and "lstm-pretrained" in means:
        scratch = by_model["lstm"]
        pretrained = by_model["lstm-pretrained"]
        paired = sorted(set(scratch) & set(pretrained))
        summary |= {
            "pretrained_minus_scratch_points": 100 * (means["lstm-pretrained"] - means["lstm"]),
            "pretrained_wins": sum(
                pretrained[seed]["test_macro_f1"] > scratch[seed]["test_macro_f1"]
                for seed in paired
            ),
            "paired_seeds": len(paired),
        }
    return {"summary": summary, "leaderboard": table}


def run_flows(
    config_path: Path, workspace: Path, profile: str, tasks: list[str], study: bool
) -> dict[str, Any]:
    """Run the family flow (and the optimizer study) on a scratch workspace; return its study."""
    from pipelines.flow import pipeline_flow, study_flow

    os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
    for task in tasks:
        pipeline_flow("textclf", profile=profile, config_path=str(config_path), task=task)
    if not study:
        return {}
    summary = study_flow(
        FAMILY,
        "optimizers",
        task="finefoods",
        model="gru",
        profile=profile,
        config_path=str(config_path),
    )
    return {"task": "finefoods", "model": "gru", "optimizers": summary.to_dict(orient="records")}


def main() -> None:
    parser = family_arguments(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="training seeds")
    parser.add_argument("--tasks", nargs="*", help="only these tasks (default: all)")
    parser.add_argument("--skip-study", action="store_true", help="no optimizer study")
    args = parser.parse_args()

    family = get_family(FAMILY)
    document = yaml.safe_load(family.default_config.read_text())
    # One model at a time: threads sharing two cores make a seed's run irreproducible.
    document["parallel_models"] = 1
    if args.models:
        document["models"] = [entry for entry in document["models"] if entry["name"] in args.models]
    tasks = args.tasks or list(document["tasks"])
    results: dict[str, Any] = run_header(args.profile)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = args.workspace or Path(scratch) / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        for index, seed in enumerate(args.seeds):
            document["training"]["seed"] = seed
            config_path = Path(scratch) / f"textclf-seed{seed}.yaml"
            config_path.write_text(yaml.safe_dump(document, sort_keys=False))
            family.load_config(config_path, args.profile)  # fails early on a bad override
            wants_study = index == 0 and not args.skip_study
            study = run_flows(config_path, workspace, args.profile, tasks, wants_study)
            if study:
                results["optimizer_study"] = study
            # Written after every seed, so a long benchmark stopped early keeps what it measured.
            done = args.seeds[: index + 1]
            results["seeds"] = done
            results["tasks"] = {task: summarize(model_scores(task), done) for task in tasks}
            write_results(f"textclf-{args.profile}", results)
    print(
        json.dumps({task: found["summary"] for task, found in results["tasks"].items()}, indent=2)
    )


if __name__ == "__main__":
    main()
