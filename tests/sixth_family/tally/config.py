"""Configuration of the tally family: where its line comes from and how the ridge is fitted."""

from __future__ import annotations

from pydantic import Field

from components.core.config import FamilyConfig, GateConfig, ResolvedRun, StrictModel


class LineDataset(StrictModel):
    """A seeded noisy line, y = slope * x + intercept + noise, split by row."""

    name: str = "line"  # registered as tally-<name>
    rows: int = Field(200, ge=10)
    slope: float = 3.0
    intercept: float = 1.0
    noise: float = Field(0.1, ge=0)
    seed: int = 0


class RidgeConfig(StrictModel):
    """The ridge regression's penalty."""

    alpha: float = Field(1.0, ge=0)


class TallyRun(ResolvedRun):
    """A model run with every field decided."""

    ridge: RidgeConfig


class TallyConfig(FamilyConfig[TallyRun]):
    """Everything a tally flow needs."""

    dataset: LineDataset = LineDataset()
    ridge: RidgeConfig = RidgeConfig()
    gate: GateConfig = GateConfig(metric="test_mae", greater_is_better=False)
