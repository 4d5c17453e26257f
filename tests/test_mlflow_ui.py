"""The MLflow UI as a user meets it after a tiny run, rendered in headless Chromium: every page
the CLI prints opens the experiment's training runs (not MLflow's GenAI overview) with the gate
metric in view; the landing page, a comparison and a registered model render what they should.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.request import urlopen

import pytest
import yaml
from mlflow import MlflowClient

from bench.services import free_port, process, seqpipe_env, wait_for
from components.core import ui_links
from tests.families.forecasting.tiny import chicago_document

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHICAGO = chicago_document()
CONFIG = {
    "dataset": CHICAGO["dataset"],
    "split": {**CHICAGO["split"], "train_start": "2013-01-01"},
    "models": [
        {"name": "naive_seasonal", "features": "univariate"},
        {"name": "sarima", "features": "univariate"},
    ],
    "profiles": {"quick": {}},
}
# MLflow's GenAI pages, which a model-training page never shows.
GENAI_ONLY = ("Detect Issues", "Token Usage", "Judges", "Training runs")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs Debian's chromium package"
    return found


def rendered(url: str, size: str = "2400,1400") -> tuple[str, list[str]]:
    """The page's title and visible texts once its scripts have run, in a fresh profile
    (nothing remembered from an earlier page)."""
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                "--virtual-time-budget=30000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        ).stdout
    title = re.search(r"<title>([^<]*)</title>", dom)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", dom, flags=re.S)
    parts = (
        html.unescape(part).replace("\xa0", " ").strip() for part in re.split(r"<[^>]+>", body)
    )
    texts = [part for part in parts if part]
    return (title.group(1) if title else ""), texts


@pytest.fixture(scope="module")
def ui(prefect_server, tmp_path_factory, workspace_env):
    """A workspace after a tiny forecasting run, and its MLflow UI as ``seqpipe ui --launch``
    serves it: (workspace, UI address)."""
    from pipelines.flow import pipeline_flow

    workspace = tmp_path_factory.mktemp("ui")
    config = workspace / "forecasting.yaml"
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    with workspace_env(workspace):
        pipeline_flow("forecasting", profile="quick", config_path=str(config))
        port = free_port()
        command = [str(BIN / "seqpipe"), "ui", "--launch", "--port", str(port)]
        env = seqpipe_env(workspace)
        with process(command, env, workspace / "ui.log", cwd=workspace):
            base = f"http://127.0.0.1:{port}"

            def healthy() -> bool:
                try:
                    with urlopen(f"{base}/health", timeout=5) as answer:
                        return answer.status == 200
                except OSError:
                    return False

            wait_for(healthy, 180, f"the MLflow UI on {base} (log: {workspace / 'ui.log'})")
            yield workspace, base


def printed_pages(workspace: Path, port: str) -> list[str]:
    """The addresses ``seqpipe ui`` prints, as a user would copy them."""
    printed = subprocess.run(
        [str(BIN / "seqpipe"), "ui", "--port", port],
        cwd=workspace,
        env=seqpipe_env(workspace),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.findall(r"https?://\S+", printed)


def test_every_printed_page_opens_training_runs_with_the_gate_metric(ui) -> None:
    workspace, base = ui
    pages = printed_pages(workspace, base.rsplit(":", 1)[1])
    assert pages and all("workflowType=machine_learning" in page for page in pages)
    for page in pages:
        title, texts = rendered(page)
        assert title.startswith("Runs - "), (page, title)  # not the GenAI overview
        assert "Model registry" in texts and not set(GENAI_ONLY) & set(texts), page
        # The leaderboard view: model runs best first by the gate metric, the champion tagged.
        assert "test_mae" in texts and "seqpipe.champion" in texts, page
        assert "forecasting-chicago-pipeline" not in texts
        runs = [text for text in texts if re.fullmatch(r"(naive_seasonal|sarima)-uni-h1", text)]
        assert runs[0] == champion_run_name(), runs


def champion_run_name() -> str:
    client = MlflowClient()
    champion = client.get_model_version_by_alias("forecasting-chicago", "champion")
    return client.get_run(champion.run_id).info.run_name


def test_the_landing_page_lists_the_experiment(ui) -> None:
    _, base = ui
    _, texts = rendered(f"{base}/")
    assert "forecasting-chicago" in texts


def test_the_compare_view_charts_the_model_runs_metrics(ui) -> None:
    _, base = ui
    client = MlflowClient()
    experiment = client.get_experiment_by_name("forecasting-chicago").experiment_id
    runs = client.search_runs([experiment], "tags.`seqpipe.kind` = 'model'")
    title, texts = rendered(ui_links.compare_runs(base, experiment, [r.info.run_id for r in runs]))
    assert title.startswith("Compare Runs"), title
    assert "Parallel Coordinates Plot" in texts and "test_mae" in texts
    assert {run.info.run_name for run in runs} <= set(texts)


def test_the_registered_model_page_shows_its_champion_and_description(ui) -> None:
    _, base = ui
    client = MlflowClient()
    champion = client.get_model_version_by_alias("forecasting-chicago", "champion")
    _, texts = rendered(ui_links.registered_model(base, "forecasting-chicago"))
    assert f"Version {champion.version}" in texts and "@ champion" in texts
    description = client.get_registered_model("forecasting-chicago").description
    assert any(text.startswith(description[:40]) for text in texts)
