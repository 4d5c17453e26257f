"""Translation benchmark: attention against the no-attention encoder-decoder, per input format;
beam widths 1, 3 and 5 by exact match and latency.

Run with ``make bench`` (or ``python -m bench.translation --help``). The models train through
the real flow (Prefect + MLflow) on the chosen profile, one at a time; every figure is measured
on the same generated test dates.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import family_arguments, run_header, write_results
from components.core.contract import Task
from components.families import get_family

FAMILY = "translation"
TASK = "dates"
BEAM_WIDTHS = (1, 3, 5)


def model_runs() -> dict[str, Any]:
    """Every finished model run of the dates task, by run name."""
    import mlflow

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(f"{FAMILY}-{TASK}")
    runs = client.search_runs(
        [experiment.experiment_id],
        "tags.`seqpipe.kind` = 'model' and attributes.status = 'FINISHED'",
    )
    return {run.info.run_name: run for run in runs}


def scores(runs: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Test exact match, token accuracy and exact match per input format, per model."""
    return {
        name: {
            metric.removeprefix("test_"): value
            for metric, value in sorted(run.data.metrics.items())
            if metric.startswith("test_exact_match") or metric == "test_token_accuracy"
        }
        for name, run in runs.items()
    }


def beam_study(run: Any, prepared: Any) -> list[dict[str, float]]:
    """Exact match and milliseconds per input of one logged model at each beam width."""
    import mlflow

    from components.core.stages import MODEL_URI_TAG
    from components.families.translation.metrics import sequence_metrics

    translator = mlflow.pyfunc.load_model(run.data.tags[MODEL_URI_TAG]).unwrap_python_model()
    translator = translator.translator
    inputs = prepared.inputs("test", translator.reads)
    wanted = [prepared.target_vectorizer.split(text) for text in prepared.rows("test")["target"]]
    translator.translate(inputs[:8], 1)  # builds the predict functions outside the timing
    rows = []
    for width in BEAM_WIDTHS:
        started = time.perf_counter()
        decoded = translator.decode(inputs, width)
        seconds = time.perf_counter() - started
        outputs = [translator.target_vectorizer.decode_tokens(ids) for ids in decoded.ids]
        rows.append(
            {
                "beam_width": width,
                "exact_match": sequence_metrics(outputs, wanted)["exact_match"],
                "milliseconds_per_input": 1000 * seconds / len(wanted),
            }
        )
    return rows


def main() -> None:
    parser = family_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()

    from components.core.versioning import DataVersion
    from pipelines.flow import pipeline_flow
    from pipelines.server import prefect_api

    family = get_family(FAMILY)
    document = yaml.safe_load(family.default_config.read_text())
    document["parallel_models"] = 1  # one model at a time: a seed reproduces its run
    if args.models:
        for section in (document, document["profiles"].get(args.profile) or {}):
            if "models" in section:
                section["models"] = [m for m in section["models"] if m["name"] in args.models]
    results: dict[str, Any] = run_header(args.profile)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = args.workspace or Path(scratch) / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        config_path = Path(scratch) / "translation.yaml"
        config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        config = family.load_config(config_path, args.profile)  # fails early on a bad override
        os.environ["SEQPIPE_WORKSPACE"] = str(workspace)
        started = time.perf_counter()
        with prefect_api():  # the server the CLI starts, which ends with this process
            pipeline_flow(FAMILY, profile=args.profile, config_path=str(config_path))
        results["flow_seconds"] = time.perf_counter() - started
        runs = model_runs()
        results["models"] = scores(runs)
        task = Task(config, TASK)
        prepared = family.prepare(family.load_table(task), task, DataVersion("", "", ""))
        results["beam_widths"] = {name: beam_study(run, prepared) for name, run in runs.items()}
        write_results(f"{FAMILY}-{args.profile}", results)
    summary = {
        name: {"exact_match": found["exact_match"]} for name, found in results["models"].items()
    }
    print(json.dumps(summary | {"beam_widths": results["beam_widths"]}, indent=2))


if __name__ == "__main__":
    main()
