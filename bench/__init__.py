"""Benchmarks: quality, speed and overhead targets, reported as ratios measured in one run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def run_header(profile: str) -> dict[str, Any]:
    """What every result file starts with: when, which profile, on how many cores."""
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "profile": profile,
        "cpus": os.cpu_count(),
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` and say where."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")
    return out


def family_arguments(description: str) -> argparse.ArgumentParser:
    """The options every family benchmark takes: profile, models and where the runs go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--profile", default="full", help="config profile (default: full)")
    parser.add_argument("--models", nargs="*", help="only these models (default: all)")
    parser.add_argument(
        "--workspace", type=Path, help="keep the runs here (default: a temporary folder)"
    )
    return parser
