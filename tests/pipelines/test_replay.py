"""Continuous training replayed on a smaller cut of ``bench.continuous``: runs created by a real
Prefect server's scheduler retrain on each arrival of the Chicago ridership while ``seqpipe
serve`` follows the champion; a tripled month is blocked and the server keeps the champion; a
growing text file never trains on a test item."""

from __future__ import annotations

import pytest

from bench.continuous import arrivals, replay, series_targets

pytestmark = pytest.mark.slow

SPLIT = {"validation_periods": 60, "test_periods": 60}
INTERVAL_SECONDS = 45  # a run that starts before an arrival sees unchanged data: quick, then
# the next one sees the arrival


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # History to November 2015, then a tripled December, December as it was.
    plan = arrivals("2015-11-30", "2015-12-31", anomalous="2015-12")
    assert [item.kind for item in plan] == ["first", "unchanged", "anomalous", "month"]
    root = tmp_path_factory.mktemp("replay")
    return replay(root, plan, INTERVAL_SECONDS, SPLIT, text_sizes=[1000, 2000])


def test_every_run_is_the_schedulers_and_saw_its_arrival(replayed: dict) -> None:
    runs = replayed["series"]["runs"]
    assert len(runs) >= 4
    assert all(run["auto_scheduled"] for run in runs)
    fair = [run for run in runs if not run["raced"]]
    assert [run["arrival"] for run in fair] == ["first", "unchanged", "anomalous", "month"]
    first, _, _, december = fair
    assert first["state"] == "COMPLETED" and first["registered_versions"] == ["1"]
    assert first["champion_after"] == "1"
    assert first["source_last_day"] == "2015-11-30"
    assert december["source_last_day"] == "2015-12-31"


def test_a_run_on_unchanged_data_registers_nothing(replayed: dict) -> None:
    first, unchanged = [run for run in replayed["series"]["runs"] if not run["raced"]][:2]
    assert unchanged["state"] == "COMPLETED"
    assert unchanged["data_incoming_md5"] == first["data_incoming_md5"]
    assert unchanged["models_trained"] == 0 and unchanged["registered_versions"] == []
    assert unchanged["champion_after"] == unchanged["champion_before"]


def test_each_retrain_on_grown_data_trains_on_more_rows(replayed: dict) -> None:
    targets = series_targets(replayed["series"])
    assert targets["train_rows_strictly_growing"], targets["train_rows"]
    assert len(targets["train_rows"]) == 2
    grown = [run for run in replayed["series"]["runs"] if run["arrival"] == "month"]
    assert all(run["state"] == "COMPLETED" and run["registered_versions"] for run in grown)
    assert [run["training_end"] for run in grown] == sorted(run["training_end"] for run in grown)


def test_the_tripled_month_is_blocked_and_the_server_keeps_the_champion(replayed: dict) -> None:
    runs = [run for run in replayed["series"]["runs"] if not run["raced"]]
    index = next(i for i, run in enumerate(runs) if run["arrival"] == "anomalous")
    before, tripled = runs[index - 1], runs[index]
    assert tripled["state"] == "FAILED"
    assert tripled["data_status"] == "rejected" and tripled["drift_verdict"] == "block"
    assert any("level" in flag and "(block)" in flag for flag in tripled["drift_flags"])
    assert tripled["registered_versions"] == []
    assert tripled["versions_after"] == tripled["versions_before"]
    assert tripled["champion_after"] == tripled["champion_before"]
    assert tripled["data_dvc_hash_after"] == before["data_dvc_hash_after"]  # still the history's
    # Every request while the blocked run went on was answered by the champion before it.
    assert set(tripled["served_during_run"]) == {tripled["champion_before"]}
    assert tripled["serving_errors_during_run"] == 0
    assert series_targets(replayed["series"])["anomalous_blocked"]


def test_the_served_forecasts_are_scored_by_month(replayed: dict) -> None:
    months = replayed["series"]["months"]
    assert [row["month"] for row in months] == ["2015-12"]
    assert [row["days"] for row in months] == [31]
    assert all(row["live_mae"] > 0 and row["test_mae"] > 0 for row in months)


def test_no_test_item_of_the_growing_text_is_ever_trained_on(replayed: dict) -> None:
    text = replayed["text"]
    assert [step["exit_code"] for step in text["steps"]] == [0, 0], text["steps"]
    assert text["runs_read"] == 2
    assert [step["rows_in_source"] for step in text["steps"]] == [1000, 2000]
    assert all(step["test_items"] > 0 for step in text["steps"])
    assert text["items_ever_in_test"] > 0
    assert text["test_items_trained_or_validated_on"] == 0
    assert text["items_that_moved_split"] == 0


def test_the_benchmark_plan_covers_2015_and_2016() -> None:
    plan = arrivals("2014-12-31", "2016-08-28", anomalous="2015-07")
    months = [item.month for item in plan if item.kind == "month"]
    assert months[0] == "2015-01" and months[-1] == "2016-08" and len(months) == 20
    assert plan[-1].until == "2016-08-28"
    assert len(plan) >= 12
