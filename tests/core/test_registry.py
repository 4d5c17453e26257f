"""The champion/challenger gate on a real (temporary) MLflow registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from components.core import registry
from components.core.config import GateConfig
from components.core.errors import UserError
from components.families.forecasting.features import FeatureSpec
from components.families.forecasting.models import NaiveSeasonal

GATE = GateConfig(metric="test_mae", greater_is_better=False, margin=0.0)
NAME = "forecasting-test"
SPEC = FeatureSpec("date", "y", (), 1, "D", False)


def logged_candidate(
    score: float, baseline: float = 2.0, key: str = "same-data"
) -> registry.Candidate:
    import mlflow

    from components.families.forecasting.serving import ForecastingModel

    example = pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=14), "y": np.arange(14, dtype="float64")}
    )
    with mlflow.start_run() as run:
        uri = ForecastingModel(NaiveSeasonal(7, 1), SPEC).log(example).uri
    return registry.Candidate(run.info.run_id, "naive", uri, NAME, score, baseline, key)


def submit(candidate: registry.Candidate, rescore=lambda uri: pytest.fail("no rescore expected")):
    version = registry.find_or_register(candidate)
    return registry.gate(candidate, version, GATE, rescore)


def test_champion_moves_only_for_a_better_model(mlflow_store: str) -> None:
    first = submit(logged_candidate(1.5))
    assert first.promoted and registry.aliases(NAME)["champion"] == first.version
    worse = submit(logged_candidate(1.7))
    assert not worse.promoted and "does not beat champion" in worse.reason
    assert registry.aliases(NAME) == {"champion": first.version, "challenger": worse.version}
    better = submit(logged_candidate(1.2))
    assert better.promoted and better.champion_score == pytest.approx(1.5)
    assert registry.aliases(NAME) == {
        "champion": better.version,
        "challenger": better.version,
        "previous-champion": first.version,
    }
    run = MlflowClient().get_run(better_run_id(better))
    assert run.data.tags["gate.decision"] == "promoted"
    assert run.data.metrics["gate_champion_test_mae"] == pytest.approx(1.5)


def better_run_id(decision: registry.GateDecision) -> str:
    return MlflowClient().get_model_version(NAME, decision.version).run_id


def test_baseline_must_be_beaten_even_without_champion(mlflow_store: str) -> None:
    decision = submit(logged_candidate(2.5, baseline=2.0))
    assert not decision.promoted and "baseline" in decision.reason
    assert "champion" not in registry.aliases(NAME)


def test_margin_is_relative(mlflow_store: str) -> None:
    assert registry.beats(0.89, 1.0, GATE.model_copy(update={"margin": 0.1}))
    assert not registry.beats(0.91, 1.0, GATE.model_copy(update={"margin": 0.1}))
    assert registry.beats(0.81, 0.8, GateConfig(metric="f1", greater_is_better=True))


def test_champion_from_other_data_is_rescored(mlflow_store: str) -> None:
    submit(logged_candidate(1.0, key="old-data"))
    seen = []

    def rescore(uri: str) -> float:
        seen.append(uri)
        return 1.4  # the old champion does worse on the new test days

    decision = submit(logged_candidate(1.3, key="new-data"), rescore)
    assert seen == [f"models:/{NAME}/1"]
    assert decision.promoted and decision.champion_score == pytest.approx(1.4)


def test_a_champion_that_cannot_be_loaded_is_replaced_by_a_model_beating_the_baseline(
    mlflow_store: str,
) -> None:
    from components.core import stages

    first = submit(logged_candidate(1.0, key="old-data"))
    # The version's files are gone (or in a layout this seqpipe does not read).
    broken = registry.Candidate("no-run", "naive", "models:/m-missing", NAME, 1.0, 2.0, "k")
    with pytest.raises(registry.UnreadableModel, match="cannot be loaded"):
        stages.rescore(None, None, None, broken.model_uri)  # type: ignore[arg-type]

    def unreadable(uri: str) -> float:
        raise registry.UnreadableModel(f"{uri} cannot be loaded (MlflowException: gone)")

    worse_than_baseline = submit(logged_candidate(2.5, key="new-data"), unreadable)
    assert not worse_than_baseline.promoted  # the baseline still guards the alias
    decision = submit(logged_candidate(1.3, key="new-data"), unreadable)
    assert decision.promoted and decision.champion_score is None
    assert f"champion v{first.version} is replaced" in decision.reason
    assert registry.aliases(NAME)["previous-champion"] == first.version


def test_registering_a_run_twice_reuses_its_version(mlflow_store: str) -> None:
    candidate = logged_candidate(1.0)
    assert registry.find_or_register(candidate) == registry.find_or_register(candidate)


def test_a_versions_gate_decision_is_written_once(mlflow_store: str) -> None:
    client = MlflowClient()
    candidate = logged_candidate(1.5)
    first = submit(candidate)
    worse = submit(logged_candidate(1.7))
    recorded = client.get_model_version(NAME, first.version)
    # The same runs again (a flow on unchanged data reuses its cached runs).
    again = registry.register_best([candidate], GATE, lambda *_: pytest.fail("no rescore"))
    assert [decision.version for decision in again] == [first.version]
    assert not again[0].promoted and "already registered" in again[0].reason
    gated_again = registry.gate(candidate, first.version, GATE, lambda uri: pytest.fail("no"))
    assert gated_again.reason == again[0].reason
    kept = client.get_model_version(NAME, first.version)
    assert kept.tags == recorded.tags and kept.description == recorded.description
    assert "first champion" in kept.tags["gate.decision"]
    # No alias moved: the challenger is still the later, worse version.
    assert registry.aliases(NAME) == {"champion": first.version, "challenger": worse.version}


def test_rollback_restores_previous_champion(mlflow_store: str) -> None:
    first = submit(logged_candidate(1.5))
    second = submit(logged_candidate(1.0))
    assert registry.rollback(NAME) == (first.version, second.version)
    assert registry.aliases(NAME)["champion"] == first.version
    assert registry.aliases(NAME)["previous-champion"] == second.version


def champion_tagged_runs() -> list[str]:
    """The runs the runs table finds by the champion tag, by their versions."""
    client = MlflowClient()
    found = client.search_runs(["0"], f"tags.`{registry.CHAMPION_TAG}` = '{NAME}'", max_results=100)
    return [
        str(client.search_model_versions(f"run_id = '{run.info.run_id}'")[0].version)
        for run in found
    ]


def test_the_champion_tag_follows_the_alias_through_gates_and_rollbacks(
    mlflow_store: str,
) -> None:
    first = submit(logged_candidate(1.5))
    assert champion_tagged_runs() == [first.version]
    submit(logged_candidate(1.7))  # kept as challenger: the tag stays
    assert champion_tagged_runs() == [first.version]
    better = submit(logged_candidate(1.2))
    assert champion_tagged_runs() == [better.version]
    registry.rollback(NAME)
    assert champion_tagged_runs() == [first.version]
    # An alias moved by hand (MLflow's UI, its client) is followed at the next sync.
    MlflowClient().set_registered_model_alias(NAME, "champion", better.version)
    registry.sync_champion_tag(NAME)
    assert champion_tagged_runs() == [better.version]
    MlflowClient().delete_registered_model_alias(NAME, "champion")
    registry.sync_champion_tag(NAME)
    assert champion_tagged_runs() == []


def test_rollback_without_history_is_a_clear_error(mlflow_store: str) -> None:
    submit(logged_candidate(1.5))
    with pytest.raises(UserError, match="no 'previous-champion'"):
        registry.rollback(NAME)


def test_smoke_test_failure_blocks_promotion(mlflow_store: str, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("serving smoke test failed: boom")

    monkeypatch.setattr(registry, "smoke_test", broken)
    with pytest.raises(RuntimeError, match="smoke test"):
        submit(logged_candidate(1.0))
    assert "champion" not in registry.aliases(NAME)


def test_every_champion_is_summarized_with_its_gate_metric_and_score(mlflow_store: str) -> None:
    from components.core.leaderboard import champion_rows

    assert champion_rows() == []
    first = submit(logged_candidate(1.5))
    submit(logged_candidate(1.7))  # a challenger that stays one
    (row,) = champion_rows()
    assert (row["registered_model"], row["version"]) == (NAME, f"v{first.version}")
    assert (row["metric"], row["score"]) == ("test_mae", pytest.approx(1.5))
    assert row["other_aliases"] == f"challenger v{int(first.version) + 1}"
