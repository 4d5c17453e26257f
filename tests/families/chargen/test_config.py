"""Bad chargen configs are refused before any data is read, naming what is wrong (a user's bad
corpus files are cases of the bad-input test over every family)."""

from __future__ import annotations

import pytest

from components.families.chargen.config import ChargenConfig
from components.families.chargen.family import ChargenFamily


@pytest.mark.parametrize(
    ("corpus", "named"),
    [
        ({"source": "files"}, "path is required"),
        ({"validation_documents": ["hamlet"], "test_documents": []}, "lists its"),
        ({"validation_documents": ["hamlet"], "test_documents": ["hamlet"]}, "both"),
        ({"charset": "abca"}, "twice"),
        (
            {
                "plays": ["hamlet"],
                "validation_documents": ["macbeth"],
                "test_documents": ["hamlet"],
            },
            "not among",
        ),
    ],
)
def test_a_bad_corpus_config_is_refused_before_any_work(corpus: dict, named: str) -> None:
    base = {"validation_documents": ["othello"], "test_documents": ["macbeth"]}
    with pytest.raises(ValueError, match=named):
        ChargenConfig.model_validate({"corpus": base | corpus, "models": [{"name": "gru"}]})


def test_an_unknown_model_or_a_stateful_n_gram_is_refused() -> None:
    family = ChargenFamily()
    config = family.load_config()
    unknown = config.resolve(config.models[0] | {"name": "transformer"})
    with pytest.raises(ValueError, match="valid names"):
        family.check(config, [unknown])
    stateful_ngram = config.resolve(config.models[0] | {"name": "ngram", "stateful": True})
    with pytest.raises(ValueError, match="no state"):
        family.check(config, [stateful_ngram])
