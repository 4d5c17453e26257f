"""Drift of new data against the data the champion learned from: statistics and verdicts.

A family names what to compare (a target over recent periods, label shares, text lengths, a
character set); this module computes each statistic with scipy, judges it against the
config's thresholds, and renders the report every pipeline run logs (a table and a plot).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from components.core.config import DriftConfig, DriftThreshold
from components.core.errors import UserError

# The kinds are described beside ``DriftConfig``: each has a threshold of its own.
DriftKind = Literal["distribution", "shares", "level", "scale", "rate"]
Verdict = Literal["ok", "warn", "block"]
VERDICT_ORDER: dict[Verdict, int] = {"ok": 0, "warn": 1, "block": 2}


@dataclass(frozen=True)
class DriftStatistic:
    """One comparison of the new data with the reference data."""

    name: str  # what was compared, e.g. "label shares"
    kind: DriftKind  # decides the threshold (``DriftConfig.<kind>``)
    value: float
    reference: str = ""  # a short summary of each side, for the report's table
    current: str = ""


@dataclass(frozen=True)
class JudgedStatistic:
    """A statistic with its kind's thresholds and what they make of it."""

    statistic: DriftStatistic
    warn: float
    block: float

    @property
    def verdict(self) -> Verdict:
        value = self.statistic.value
        if not math.isfinite(value) or value >= self.block:  # non-finite: a side has no data
            return "block"
        return "warn" if value >= self.warn else "ok"

    def brief(self) -> str:
        """One line: the statistic, its value and the threshold it reached."""
        item = self.statistic
        threshold = self.block if self.verdict == "block" else self.warn
        reached = f"drift.{item.kind}.{self.verdict} {threshold:g}"
        return f"{item.name}: {item.kind} {item.value:.3g} >= {reached}"

    def describe(self) -> str:
        item = self.statistic
        if self.verdict == "ok":
            return f"{item.name}: {item.kind} {item.value:.3f} (below drift.{item.kind}.warn)"
        threshold = self.block if self.verdict == "block" else self.warn
        return (
            f"{item.name}: {item.kind} {item.value:.3f} reaches drift.{item.kind}."
            f"{self.verdict} = {threshold:g} ({item.reference} -> {item.current})"
        )


@dataclass(frozen=True)
class DriftReport:
    """The statistics of one data version against its reference, each with its verdict."""

    reference: str  # the reference's data version (DVC hash) or why there is none
    current: str  # the new data's file digest
    judged: list[JudgedStatistic] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        verdicts = [item.verdict for item in self.judged] or ["ok"]
        return max(verdicts, key=VERDICT_ORDER.__getitem__)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def flagged(self, verdict: Verdict) -> list[JudgedStatistic]:
        return [item for item in self.judged if item.verdict == verdict]

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "statistic": item.statistic.name,
                "kind": item.statistic.kind,
                "value": round(item.statistic.value, 4),
                "reference": item.statistic.reference,
                "current": item.statistic.current,
                "verdict": item.verdict,
                "warn": item.warn,
                "block": item.block,
            }
            for item in self.judged
        ]
        columns = ["statistic", "kind", "value", "reference", "current", "verdict", "warn", "block"]
        return pd.DataFrame(rows, columns=columns)

    def to_json(self) -> str:
        document = {
            "reference": self.reference,
            "current": self.current,
            "verdict": self.verdict,
            "statistics": self.to_frame().to_dict(orient="records"),
        }
        return json.dumps(document, indent=2)


class DataDriftError(UserError):
    """New data drifted past a blocking threshold: it does not become current."""

    def __init__(self, report: DriftReport, where: str) -> None:
        self.report = report
        lines = "\n".join(f"  - {item.describe()}" for item in report.flagged("block"))
        super().__init__(
            f"data drift blocks {where}: the new data (md5 {report.current}) differs from the "
            f"champion's data ({report.reference}):\n{lines}\nIf the change is real, accept it "
            f"with `seqpipe data accept`, or raise the threshold named above"
        )


def judge(
    statistics: Iterable[DriftStatistic], config: DriftConfig, reference: str, current: str
) -> DriftReport:
    """Each statistic against its kind's thresholds in ``config``."""
    judged = []
    for item in statistics:
        threshold: DriftThreshold = getattr(config, item.kind)
        judged.append(JudgedStatistic(item, threshold.warn, threshold.block))
    return DriftReport(reference, current, judged)


# --- the statistics families compose -------------------------------------------------------


def distribution_shift(
    name: str, reference: Iterable[float], current: Iterable[float]
) -> DriftStatistic:
    """Kolmogorov-Smirnov statistic between two samples of a numeric quantity."""
    from scipy.stats import ks_2samp

    before, after = _finite(reference), _finite(current)
    if before.size == 0 or after.size == 0:
        return DriftStatistic(name, "distribution", math.inf, _summary(before), _summary(after))
    value = float(ks_2samp(before, after).statistic)
    return DriftStatistic(name, "distribution", value, _summary(before), _summary(after))


def level_shift(
    name: str, reference: Iterable[float], current: Iterable[float]
) -> DriftStatistic | None:
    """|ln| of the ratio of the means, for positive quantities (counts, sizes, prices);
    None when a mean is not positive (no ratio describes it: the distribution's shift does).
    """
    before, after = _finite(reference), _finite(current)
    if before.size == 0 or after.size == 0:
        return None
    mean_before, mean_after = float(before.mean()), float(after.mean())
    if mean_before <= 0 or mean_after <= 0:
        return None
    value = abs(math.log(mean_after / mean_before))
    return DriftStatistic(
        name, "level", value, f"mean {_number(mean_before)}", f"mean {_number(mean_after)}"
    )


def scale_shift(name: str, reference: Iterable[float], current: Iterable[float]) -> DriftStatistic:
    """|ln| of the ratio of the standard deviations."""
    before, after = _finite(reference), _finite(current)
    spread_before = float(before.std()) if before.size > 1 else 0.0
    spread_after = float(after.std()) if after.size > 1 else 0.0
    value = _log_ratio(spread_after, spread_before)
    return DriftStatistic(
        name, "scale", value, f"sd {_number(spread_before)}", f"sd {_number(spread_after)}"
    )


def share_shift(
    name: str, reference: Iterable[object], current: Iterable[object]
) -> DriftStatistic:
    """Jensen-Shannon distance between the shares of the categories on each side."""
    from scipy.spatial.distance import jensenshannon

    before = pd.Series(list(reference), dtype="object").value_counts(normalize=True)
    after = pd.Series(list(current), dtype="object").value_counts(normalize=True)
    if before.empty or after.empty:
        return DriftStatistic(name, "shares", math.inf, _shares(before), _shares(after))
    categories = before.index.union(after.index)
    value = float(
        jensenshannon(
            before.reindex(categories, fill_value=0).to_numpy(),
            after.reindex(categories, fill_value=0).to_numpy(),
            base=2,
        )
    )
    return DriftStatistic(name, "shares", value, _shares(before), _shares(after))


def rate_rise(name: str, reference_rate: float, current_rate: float) -> DriftStatistic:
    """How much a rate rose (a fall is no drift worth stopping for)."""
    value = max(0.0, current_rate - reference_rate)
    return DriftStatistic(name, "rate", value, f"{reference_rate:.1%}", f"{current_rate:.1%}")


def unseen_rise(
    name: str, known: Iterable[Hashable], held_out: Iterable[Hashable], current: Iterable[Hashable]
) -> DriftStatistic:
    """How much the share of tokens (words, characters) the model never met rose: the share
    of ``current`` outside ``known`` (what the reference trained on) against that of the
    reference's own ``held_out`` tokens, which no vocabulary covers fully either."""
    vocabulary = set(known)
    return rate_rise(name, _unseen_share(held_out, vocabulary), _unseen_share(current, vocabulary))


def unseen_since_training(
    name: str,
    reference: pd.DataFrame,
    added: pd.DataFrame,
    column: str,
    tokens: Callable[[str], Iterable[Hashable]],
) -> DriftStatistic:
    """``unseen_rise`` over a raw table's ``column``: the tokens of the reference's training
    rows (``split`` is train) are what the champion met, those of its other rows the
    held-out share, those of the ``added`` rows the new one."""
    trained = reference["split"] == "train"

    def every_token(texts: pd.Series) -> Iterator[Hashable]:
        return (token for text in texts for token in tokens(str(text)))

    return unseen_rise(
        name,
        every_token(reference.loc[trained, column]),
        every_token(reference.loc[~trained, column]),
        every_token(added[column]),
    )


def _unseen_share(tokens: Iterable[Hashable], vocabulary: set[Hashable]) -> float:
    seen = unseen = 0
    for token in tokens:
        if token in vocabulary:
            seen += 1
        else:
            unseen += 1
    return unseen / (seen + unseen) if seen + unseen else 0.0


def _finite(values: Iterable[float]) -> np.ndarray:
    array = pd.to_numeric(pd.Series(list(values)), errors="coerce").to_numpy("float64")
    return array[np.isfinite(array)]


def _log_ratio(current: float, reference: float) -> float:
    if current == reference:
        return 0.0
    if current <= 0 or reference <= 0:
        return math.inf  # one side vanished: no ratio describes it
    return abs(math.log(current / reference))


def added_rows(reference: pd.DataFrame, current: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows of ``current`` whose ``keys`` the reference lacks: what arrived since (all of
    them for a source rewritten whole). With nothing new, the whole table is compared."""
    known = pd.MultiIndex.from_frame(reference[keys].astype(str))
    seen = pd.MultiIndex.from_frame(current[keys].astype(str)).isin(known)
    added = current.loc[~seen]
    return current if added.empty else added


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "none"


def _summary(values: np.ndarray) -> str:
    if values.size == 0:
        return "no values"
    return f"median {_number(float(np.median(values)))}, n {values.size}"


def _shares(shares: pd.Series) -> str:
    top = shares.head(3)
    return ", ".join(f"{key}: {value:.0%}" for key, value in top.items()) or "none"


# --- the report's plot ----------------------------------------------------------------------


def plot_report(report: DriftReport, title: str, path: Path, most: int = 25) -> Path:
    """Each statistic as a bar in units of its own blocking threshold, with a tick at its
    warning threshold: what passed, what warned and what stopped the run, at a glance. The
    ``most`` statistics nearest their blocking thresholds are drawn; the rest are quieter."""
    from components.core.plots import pyplot, save_figure

    plt = pyplot()
    colors = {"ok": "#4c9a2a", "warn": "#e0a100", "block": "#c0392b"}
    cap = 2.0  # a tripled level and a slightly shifted one both read "far past the line"

    def ratio(item: JudgedStatistic) -> float:
        value = item.statistic.value
        return min(value / item.block, cap) if item.block > 0 and math.isfinite(value) else cap

    shown = sorted(report.judged, key=ratio, reverse=True)[:most]
    figure, axis = plt.subplots(figsize=(11, 0.4 * max(len(shown), 2) + 2.0))
    for row, item in enumerate(shown):
        axis.barh(row, ratio(item), color=colors[item.verdict])
        if item.block > 0:
            axis.plot([item.warn / item.block] * 2, [row - 0.4, row + 0.4], color="#555", lw=1)
    axis.set_yticks(range(len(shown)))
    axis.set_yticklabels(
        [
            f"{item.statistic.name} ({item.statistic.kind} {item.statistic.value:.3g})"
            for item in shown
        ]
    )
    axis.axvline(1.0, color=colors["block"], linestyle="--", label="blocking threshold")
    axis.plot([], [], color="#555", lw=1, label="warning threshold")
    axis.set_xlim(0, cap + 0.05)
    hidden = len(report.judged) - len(shown)
    quieter = f"\n({hidden} quieter statistics not drawn)" if hidden else ""
    axis.set_xlabel(f"statistic / its blocking threshold, capped at {cap:g}{quieter}")
    axis.invert_yaxis()
    axis.legend(loc="lower right")
    return save_figure(figure, path, f"{title}: {report.verdict}")
