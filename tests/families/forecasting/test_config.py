"""Config loading: profiles, validation errors, model selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from components.core.config import deep_merge, read_profile
from components.families.forecasting.config import ForecastingConfig
from components.families.forecasting.family import ForecastingFamily


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
    with pytest.raises(ValidationError, match=r"dataset\.path is required"):
        ForecastingConfig.model_validate({"models": [], "dataset": {"source": "file"}})


def test_default_config_names_only_registered_models() -> None:
    family = ForecastingFamily()
    config = family.load_config(profile="full")
    names = {entry["name"] for entry in config.models}
    assert names <= set(family.model_names())
    assert set(family.model_names()) <= names  # every model runs in `all`
