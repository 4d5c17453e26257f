"""The text classification pyfunc: raw strings in, labels and probabilities out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.core.serving import FamilyModel, bad_request, input_strings


class TextClassifierModel(FamilyModel):
    """Takes raw texts and returns each label's probability and the most likely label; serves
    a recurrent classifier and the TF-IDF baseline alike.

    The signature is one unnamed string column, so a plain list of strings and a one-column
    table both fit it; the classifier carries its vectorizer, so serving needs no other
    preprocessing.

    Args:
        classifier: a fitted ``TextClassifier`` or ``TfidfBaseline``.
    """

    packages = ("tensorflow-cpu", "keras", "scikit-learn")

    @property
    def classifier(self) -> Any:
        return self.model

    def batches_requests(self) -> bool:
        return True  # each row is answered on its own: requests stack into one call

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Columns ``label`` and ``probability_<label>``, one row per text."""
        texts = check_texts(model_input)
        probabilities = self.classifier.predict_proba(texts)
        return probability_table(probabilities, self.classifier.labels)


def check_texts(model_input: Any) -> list[str]:
    """The texts of a request: a list of strings, a Series, or a one-column table.

    Raises:
        MlflowException: (HTTP 400) if there is no text, or a value is not text or has no word.
    """
    values = input_strings(model_input, "text", "classify")
    # Numbers sent as JSON arrive as strings once the signature is enforced: a text must
    # hold at least one letter to be classified.
    wordless = [
        index
        for index, value in enumerate(values)
        if not any(character.isalpha() for character in value)
    ]
    if wordless:
        raise bad_request(
            f"text(s) at position(s) {wordless[:10]} are empty or have no words: "
            f"{[values[index] for index in wordless[:3]]!r}"
        )
    return values


def probability_table(probabilities: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """The most likely label and every label's probability, one row per text."""
    table = pd.DataFrame(probabilities, columns=[f"probability_{label}" for label in labels])
    table.insert(0, "label", [labels[index] for index in probabilities.argmax(axis=1)])
    return table
