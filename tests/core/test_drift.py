"""Drift statistics and their verdicts, on samples whose answer is known from their making."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from components.core import drift
from components.core.config import DriftConfig, DriftThreshold

RNG = np.random.default_rng(7)


def test_a_distribution_is_judged_by_the_gap_between_its_cdfs() -> None:
    sample = RNG.normal(10, 2, 500)
    assert drift.distribution_shift("x", sample, sample).value == 0.0
    assert drift.distribution_shift("x", sample, sample + 100).value == 1.0  # disjoint
    assert drift.distribution_shift("x", sample, []).value == math.inf  # nothing to compare


def test_level_and_scale_are_log_ratios_and_level_needs_positive_means() -> None:
    sample = RNG.gamma(5.0, 2.0, 400)
    level = drift.level_shift("x", sample, sample * 3)
    assert level is not None and level.value == pytest.approx(math.log(3))
    assert drift.scale_shift("x", sample, sample * 3).value == pytest.approx(math.log(3))
    assert drift.level_shift("temperature", sample - 100, sample) is None


def test_shares_are_compared_with_the_jensen_shannon_distance() -> None:
    labels = ["pos", "neg"] * 50
    assert drift.share_shift("labels", labels, labels[::-1]).value == pytest.approx(0.0)
    assert drift.share_shift("labels", ["pos"] * 10, ["neg"] * 10).value == pytest.approx(1.0)


def test_unseen_tokens_count_only_beyond_what_held_out_data_already_lacked() -> None:
    known = list("abcdefgh")
    held_out = list("abcz")  # a quarter unseen
    rise = drift.unseen_rise("chars", known, held_out, list("абвг"))  # all unseen
    assert rise.value == pytest.approx(0.75)
    assert drift.unseen_rise("chars", known, held_out, list("abcd")).value == 0.0


def test_each_statistic_meets_its_kinds_thresholds() -> None:
    config = DriftConfig(level=DriftThreshold(warn=0.2, block=0.5))
    statistics = [
        drift.DriftStatistic("quiet", "level", 0.1),
        drift.DriftStatistic("louder", "level", 0.3),
        drift.DriftStatistic("tripled", "level", 1.1, "mean 10", "mean 30"),
        drift.DriftStatistic("vanished", "distribution", math.inf),
    ]
    report = drift.judge(statistics, config, "champion v1's data", "abc")
    assert [item.verdict for item in report.judged] == ["ok", "warn", "block", "block"]
    assert report.blocked and report.verdict == "block"
    blocked = report.flagged("block")[0].describe()
    assert "drift.level.block = 0.5" in blocked and "mean 10 -> mean 30" in blocked
    error = drift.DataDriftError(report, "chicago")
    assert "seqpipe data accept" in str(error) and "tripled" in str(error)
    assert "quiet" not in str(error)


def test_a_report_without_statistics_passes() -> None:
    assert drift.DriftReport("none: no champion yet", "abc").verdict == "ok"


def test_a_threshold_must_block_no_earlier_than_it_warns() -> None:
    with pytest.raises(ValidationError, match="must be at least warn"):
        DriftThreshold(warn=0.5, block=0.2)


def test_added_rows_are_what_arrived_since_the_reference() -> None:
    reference = pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]})
    grown = pd.DataFrame({"text": ["b", "a", "c"], "label": ["y", "x", "x"]})
    assert drift.added_rows(reference, grown, ["text"])["text"].tolist() == ["c"]
    # Nothing new (a rerun, or rows removed): the whole table is compared.
    assert len(drift.added_rows(reference, reference, ["text"])) == 2


def test_the_report_is_a_table_json_and_a_plot(tmp_path: Path) -> None:
    import json

    statistics = [
        drift.DriftStatistic("ridership", "level", 1.2, "mean 15", "mean 45"),
        drift.DriftStatistic("temperature", "distribution", 0.1),
    ]
    report = drift.judge(statistics, DriftConfig(), "v1", "abc")
    table = report.to_frame()
    assert table["verdict"].tolist() == ["block", "ok"]
    assert json.loads(report.to_json())["verdict"] == "block"
    path = drift.plot_report(report, "forecasting-chicago", tmp_path / "drift.png")
    assert path.stat().st_size > 10_000
