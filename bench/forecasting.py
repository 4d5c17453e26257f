"""Forecasting benchmark: quality vs naive, rolling SARIMA vs daily refits, orchestration overhead.

Run with ``make bench`` (or ``python -m bench.forecasting --help``). Every figure is a ratio of
two measurements taken in the same run on the same machine, so it travels between machines.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from bench import family_arguments, run_header, write_results
from components.families import get_family
from components.families.forecasting.config import ForecastingConfig
from components.families.forecasting.evaluation import regression_metrics
from components.families.forecasting.features import (
    build_features,
    covariate_columns,
    feature_spec,
    split_positions,
    target_matrix,
)
from components.families.forecasting.models import make_forecaster
from components.families.forecasting.sources import load_series_table
from components.families.forecasting.statistical import StateSpaceForecaster

FAMILY = "forecasting"


def rolling_sarima(config: ForecastingConfig, refit_days: int | None) -> dict[str, float]:
    """Rolling one-step SARIMA over the test days: filtered (no refit) vs refitted every day."""
    from statsmodels.tsa.arima.model import ARIMA

    frame = load_series_table(config.dataset)
    series = frame[config.dataset.target_column].to_numpy("float64")[:, None]
    positions = split_positions(frame[config.dataset.date_column], config.split)
    origins = positions.origins("test", horizon=1)
    order, seasonal = (1, 0, 0), (0, 1, 1, 7)
    actual = series[origins + 1]

    started = time.perf_counter()
    model = StateSpaceForecaster(order, seasonal, horizon=1)
    model.fit(series, None, positions)
    rolled = model.predict(series, origins)
    rolling_seconds = time.perf_counter() - started

    refit_origins = origins if refit_days is None else origins[:refit_days]
    started = time.perf_counter()
    refitted = []
    for origin in _progress(refit_origins, "daily refits"):
        fitted = ARIMA(
            series[positions.start : origin + 1, 0], order=order, seasonal_order=seasonal
        ).fit()
        refitted.append(fitted.forecast(1)[0])
    refit_seconds = (time.perf_counter() - started) * len(origins) / len(refit_origins)
    count = len(refit_origins)
    refit_mae = regression_metrics(actual[:count, 0], np.asarray(refitted))["mae"]
    rolling_mae = regression_metrics(actual[:count, 0], rolled[:count, 0])["mae"]
    return {
        "test_days": float(len(origins)),
        "refit_days_measured": float(count),
        "rolling_seconds": rolling_seconds,
        "refit_seconds_for_all_days": refit_seconds,
        "speedup_rolling_vs_refit": refit_seconds / rolling_seconds,
        "rolling_mae": rolling_mae,
        "refit_mae": refit_mae,
        "mae_rolling_over_refit": rolling_mae / refit_mae,
    }


def bare_keras(config: ForecastingConfig) -> float:
    """Seconds to train and score the config's models in a plain script (no Prefect, no MLflow)."""
    frame = load_series_table(config.dataset)
    covariates = covariate_columns(frame, config.dataset)
    positions = split_positions(frame[config.dataset.date_column], config.split)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for run in _progress(config.runs(), "bare script"):
            spec = feature_spec(config.dataset, covariates, "D", run)
            features = build_features(frame, spec)
            model = make_forecaster(run, config.window, config.dataset.seasonal_period or 7)
            model.fit(
                features,
                target_matrix(features[:, 0], run.horizon),
                positions,
                backup_dir=Path(scratch) / run.key,
            )
            model.predict(features, positions.origins("test", run.horizon, config.window))
    return time.perf_counter() - started


def pipeline(config_path: Path, workspace: Path, profile: str) -> tuple[float, float, list[dict]]:
    """Seconds of a first and of a cached second flow run, and the resulting leaderboard."""
    from components.core.leaderboard import leaderboard_rows
    from pipelines.flow import pipeline_flow

    os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
    started = time.perf_counter()
    pipeline_flow("forecasting", profile=profile, config_path=str(config_path))
    first = time.perf_counter() - started
    started = time.perf_counter()
    pipeline_flow("forecasting", profile=profile, config_path=str(config_path))
    cached = time.perf_counter() - started
    gate = get_family(FAMILY).load_config(config_path, profile).gate
    columns = ["test_mae_vs_naive", "train_seconds", "search_orders_tried"]
    rows = leaderboard_rows(FAMILY, gate.metric, gate.greater_is_better, columns, limit=100)
    return first, cached, rows


def _model(row: dict) -> str:
    return row["run"].split("-")[0]


def _horizon(row: dict) -> int:
    return int(next(part for part in row["run"].split("-") if part[:1] == "h")[1:])


def targets(rows: list[dict]) -> dict[str, object]:
    """The forecasting peers' figures: each horizon's champion and best neural model against
    the seasonal naive forecast and gradient boosting, the SARIMA order search beside the
    fixed order, and batch- beside layer-normalized RNNs."""
    from components.families.forecasting.networks import KERAS_BUILDERS

    by_horizon: dict[str, object] = {}
    for horizon in sorted({_horizon(row) for row in rows}):
        same = [row for row in rows if _horizon(row) == horizon]  # sorted best first
        naive = next(row for row in same if _model(row) == "naive_seasonal")["test_mae"]
        neural = [row for row in same if _model(row) in KERAS_BUILDERS]
        boosted = [row for row in same if _model(row) == "gbm"]
        figures = {
            "naive_test_mae": naive,
            "champion_run": same[0]["run"],
            "champion_vs_naive": same[0]["test_mae"] / naive,
        }
        if neural:
            figures |= {
                "best_neural_run": neural[0]["run"],
                "best_neural_vs_naive": neural[0]["test_mae"] / naive,
            }
        if boosted:
            figures["gbm_vs_naive"] = boosted[0]["test_mae"] / naive
            figures["gbm_train_seconds"] = boosted[0]["train_seconds"]
        if neural and boosted:
            figures["best_neural_over_gbm"] = neural[0]["test_mae"] / boosted[0]["test_mae"]
        by_horizon[f"h{horizon}"] = figures
    results: dict[str, object] = {"by_horizon": by_horizon}
    one_day = {_model(row): row for row in rows if _horizon(row) == 1}
    if "sarima_search" in one_day and "sarima" in one_day:
        search, fixed = one_day["sarima_search"], one_day["sarima"]
        results["sarima_search"] = {
            "search_seconds": search["train_seconds"],
            "orders_tried": search["search_orders_tried"],
            "test_mae": search["test_mae"],
            "fixed_order_test_mae": fixed["test_mae"],
            "search_over_fixed": search["test_mae"] / fixed["test_mae"],
        }
    if "bn_rnn" in one_day and "ln_rnn" in one_day:
        results["normalization"] = {
            name: {
                key: one_day[name][key]
                for key in ("test_mae", "test_mae_vs_naive", "train_seconds")
            }
            for name in ("bn_rnn", "ln_rnn")
        } | {"bn_over_ln": one_day["bn_rnn"]["test_mae"] / one_day["ln_rnn"]["test_mae"]}
    return results


def _with_skipped_sections(profile: str, results: dict[str, object]) -> dict[str, object]:
    """``results`` plus the sections this run skipped, kept from the previous results file
    with the date they were measured (``measured``), so one slow section can be re-run alone."""
    from bench import RESULTS

    previous_file = RESULTS / f"forecasting-{profile}.json"
    if not previous_file.exists():
        return results
    previous = json.loads(previous_file.read_text())
    measured = previous.get("measured", {})
    kept = {
        name: section
        for name, section in previous.items()
        if isinstance(section, dict) and name not in results and name != "measured"
    }
    dates = {name: measured.get(name, previous["date"]) for name in kept}
    dates |= {name: results["date"] for name in results if isinstance(results[name], dict)}
    return results | kept | {"measured": dates}


def _progress(items, label: str):
    from rich.progress import track

    return track(list(items), description=label)


def main() -> None:
    parser = family_arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--refit-days",
        type=int,
        default=None,
        help="measure daily refits on the first N test days only (default: all)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["quality", "sarima", "overhead"])
    args = parser.parse_args()

    family = get_family(FAMILY)
    document = yaml.safe_load(family.default_config.read_text())
    if "overhead" not in args.skip:
        # One model at a time in both the flow and the bare script, so the comparison is fair.
        document["parallel_models"] = 1
    if args.models:
        document["models"] = [entry for entry in document["models"] if entry["name"] in args.models]
    results: dict[str, object] = {
        **run_header(args.profile),
    }
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "forecasting.yaml"
        config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        config = family.load_config(config_path, args.profile)
        if "sarima" not in args.skip:
            results["rolling_sarima"] = rolling_sarima(config, args.refit_days)
            print(json.dumps(results["rolling_sarima"], indent=2))
        if "quality" not in args.skip or "overhead" not in args.skip:
            workspace = Path(scratch) / "workspace"
            workspace.mkdir()
            first, cached, rows = pipeline(config_path, workspace, args.profile)
            multivariate = [row for row in rows if "-multi-h1" in row["run"]]
            naive = next(row for row in rows if row["run"].startswith("naive_seasonal-uni-h1"))
            best = min(multivariate, key=lambda row: row["test_mae"])
            results["quality"] = {
                "best_multivariate_run": best["run"],
                "best_multivariate_test_mae": best["test_mae"],
                "naive_test_mae": naive["test_mae"],
                "best_multivariate_vs_naive": best["test_mae"] / naive["test_mae"],
                "leaderboard": [
                    {k: row[k] for k in ("run", "test_mae", "test_mae_vs_naive", "train_seconds")}
                    for row in rows
                ],
            }
            results["peers"] = targets(rows)
            print(json.dumps(results["peers"], indent=2))
            print(json.dumps(results["quality"], indent=2))
            if "overhead" not in args.skip:
                bare = bare_keras(config)
                results["overhead"] = {
                    "pipeline_seconds": first,
                    "bare_script_seconds": bare,
                    "pipeline_over_bare": first / bare,
                    "cached_rerun_seconds": cached,
                    "cached_over_first": cached / first,
                }
                print(json.dumps(results["overhead"], indent=2))
    write_results(f"forecasting-{args.profile}", _with_skipped_sections(args.profile, results))


if __name__ == "__main__":
    main()
