"""Model entries resolved once, in core: the entry over the config's sections, key by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from components.core.config import (
    FamilyConfig,
    GateConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
    read_profile,
)
from components.core.errors import UserError


class Layers(StrictModel):
    units: int = Field(8, ge=1)
    dropout: float = 0.0


class TinyRun(ResolvedRun):
    layers: Layers
    stateful: bool = False  # a run field with no config section: the run type's default


class TinyConfig(FamilyConfig[TinyRun]):
    layers: Layers = Layers(units=32, dropout=0.5)
    training: TrainingConfig = TrainingConfig(epochs=3)
    gate: GateConfig = GateConfig(metric="loss")


def test_the_run_type_comes_from_the_generic_parameter() -> None:
    assert TinyConfig.run_type is TinyRun


def test_an_entry_overrides_only_the_keys_it_sets() -> None:
    config = TinyConfig(models=[{"name": "a"}, {"name": "b", "layers": {"units": 4}}])
    plain, overridden = config.runs()
    assert plain.layers == Layers(units=32, dropout=0.5)
    assert overridden.layers == Layers(units=4, dropout=0.5)  # dropout from the config
    assert overridden.training.epochs == 3 and not overridden.stateful


def test_a_wrong_field_is_named_with_its_entry() -> None:
    config = TinyConfig(models=[{"name": "a"}, {"name": "b", "layers": {"units": 0}, "x": 1}])
    with pytest.raises(UserError, match=r"models\[1\] \(b\)") as error:
        config.runs()
    assert "layers.units: Input should be greater than or equal to 1 (got 0)" in str(error.value)
    assert "x: Extra inputs are not permitted" in str(error.value)


def test_an_entry_without_a_name_is_refused() -> None:
    with pytest.raises(UserError, match=r"models\[0\]:\n  name: Field required"):
        TinyConfig(models=[{"layers": {"units": 2}}]).runs()


def test_runs_select_by_name_or_key() -> None:
    config = TinyConfig(models=[{"name": "a"}, {"name": "b"}])
    assert [run.name for run in config.runs(["b"])] == ["b"]
    with pytest.raises(UserError, match=r"unknown model\(s\) \['c'\]"):
        config.runs(["c"])


def test_a_config_without_profiles_is_the_same_under_every_profile(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("models: [{name: a}]\n")
    assert read_profile(path, "full") == {"models": [{"name": "a"}], "profile": "full"}
    path.write_text("models: [{name: a}]\nprofiles: {quick: {}}\n")
    with pytest.raises(UserError, match=r"profile 'full' is not defined .*\['quick'\]"):
        read_profile(path, "full")


def test_a_users_data_is_named_after_its_file_never_after_a_packaged_dataset() -> None:
    from components.families.chargen.config import CorpusConfig
    from components.families.forecasting.config import SeriesDataset
    from components.families.images.config import DatasetConfig

    assert CorpusConfig(source="files", path=Path("texts/Sonnets.txt")).name == "sonnets"
    assert DatasetConfig(source="npz", path=Path("faces.npz")).name == "faces"
    assert SeriesDataset(path=Path("air.csv"), date_column="d", target_column="y").name == "air"
    # The packaged sources keep their names, and a name given is kept.
    assert DatasetConfig().name == "digits"
    assert CorpusConfig(source="files", path=Path("a.txt"), name="mine").name == "mine"
