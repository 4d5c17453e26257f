"""Character generation benchmark: a GRU against the Witten-Bell n-gram on held-out plays.

Run with ``make bench`` (or ``python -m bench.chargen --help``). On the ``full`` profile (every
play; the configured split) it measures the n-gram baseline, then trains the GRU (and,
optionally, its stateful twin) within a wall-clock budget, and reports test bits per character
against the baseline (target <= 0.90 x), training time and speed, validation accuracy, the
input pipeline's throughput against the training step's (target >= 10 x), and the greedy
continuation of "to be or not to b". Models are fitted through the family contract directly
(no flow, no registry), so every second of the budget trains.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import RESULTS, run_header, write_results
from components.families import get_family

FAMILY = "chargen"
TARGET_VS_BASELINE = 0.90
TARGET_PIPELINE_SPEEDUP = 10.0
PROMPT = "to be or not to b"


class TimeBudget:
    """Keras callbacks that end training after the epoch that reaches ``minutes`` and time
    the training steps alone (no validation, no callbacks between batches)."""

    def __init__(self, minutes: float) -> None:
        import keras

        budget = self

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None) -> None:
                budget.started = time.perf_counter()

            def on_train_batch_begin(self, batch: int, logs=None) -> None:
                budget.batch_started = time.perf_counter()

            def on_train_batch_end(self, batch: int, logs=None) -> None:
                budget.step_seconds += time.perf_counter() - budget.batch_started
                budget.steps += 1

            def on_epoch_end(self, epoch: int, logs=None) -> None:
                elapsed = time.perf_counter() - budget.started
                print(f"epoch {epoch + 1}: {elapsed / 60:.1f} min, {logs}", flush=True)
                if elapsed > minutes * 60:
                    self.model.stop_training = True

        self.callback = Callback()
        self.started = self.batch_started = 0.0
        self.step_seconds = 0.0
        self.steps = 0


def pipeline_throughput(prepared, config, batches: int = 300) -> dict[str, float]:
    """Characters per second the training input pipeline delivers on its own: its first pass
    (cutting the windows) and a later epoch's (reshuffling the cached windows)."""
    from components.families.chargen.networks import window_dataset

    dataset = window_dataset(
        prepared.ids["train"], config.window, config.training.batch_size, True, seed=1
    )
    speeds = {}
    for name in ("first_epoch", "later_epochs"):
        started = time.perf_counter()
        count = sum(int(inputs.shape[0] * inputs.shape[1]) for inputs, _ in dataset)
        speeds[name] = count / (time.perf_counter() - started)
    return speeds


def train_network(family, prepared, config, run, minutes: float) -> dict[str, Any]:
    """Fit one network within ``minutes``; its score, speed and greedy continuation."""
    from components.families.chargen.decoding import generate

    budget = TimeBudget(minutes)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        fitted = family.fit(prepared, run, Path(scratch), [budget.callback])
        seconds = time.perf_counter() - started
    network = fitted.model.language_model
    scores = network.score(prepared.texts["test"], config.window.evaluation_window)
    epochs = len(fitted.history["loss"])
    characters_per_step = config.training.batch_size * config.window.sequence_length
    with network.decoding() as decoder:
        greedy = generate(decoder, network.vectorizer, PROMPT, 40, 1.0, 1, 0).text
    return {
        "run": run.key,
        "test_bits_per_char": scores.bits_per_char,
        "test_accuracy": scores.accuracy,
        "val_accuracy_best": max(fitted.history["val_accuracy"]),
        "val_loss_by_epoch": fitted.history["val_loss"],
        "epochs": epochs,
        "training_seconds": seconds,
        "steps": budget.steps,
        "step_milliseconds": 1000 * budget.step_seconds / max(budget.steps, 1),
        "training_characters_per_second": characters_per_step * budget.steps / budget.step_seconds,
        "greedy_continuation": greedy,
        "greedy_next_is_e": greedy.startswith("e"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full")
    parser.add_argument("--minutes", type=float, default=20.0, help="GRU training budget")
    parser.add_argument(
        "--stateful-minutes", type=float, default=0.0, help="stateful GRU budget (0: skip)"
    )
    parser.add_argument(
        "--steps-per-epoch", type=int, default=300, help="batches between validations"
    )
    arguments = parser.parse_args()

    from components.core.versioning import DataVersion

    family = get_family(FAMILY)
    config = family.load_config(profile=arguments.profile)
    training = config.training.model_copy(
        update={"max_train_batches": arguments.steps_per_epoch, "epochs": 1000}
    )
    config = config.model_copy(update={"training": training})
    task = family.select_tasks(config, None)[0]
    table = family.load_table(task)
    prepared = family.prepare(table, task, DataVersion("bench", "bench", "bench"))

    started = time.perf_counter()
    baseline_run = config.resolve({"name": "ngram"})
    ngram = family.fit(prepared, baseline_run, Path("unused"), []).model.language_model
    fitted_seconds = time.perf_counter() - started
    baseline_bits = ngram.score(prepared.texts["test"]).bits_per_char

    throughput = pipeline_throughput(prepared, config)
    runs = [(config.resolve({"name": "gru"}), arguments.minutes)]
    if arguments.stateful_minutes > 0:
        runs.append((config.resolve({"name": "gru", "stateful": True}), arguments.stateful_minutes))
    networks = [train_network(family, prepared, config, run, minutes) for run, minutes in runs]
    best = networks[0]
    results = run_header(arguments.profile) | {
        "characters": {split: len(text) for split, text in prepared.texts.items()},
        "vocabulary_size": prepared.vectorizer.size,
        "baseline": {
            "model": f"Witten-Bell order {config.ngram.order}",
            "test_bits_per_char": baseline_bits,
            "fit_seconds": fitted_seconds,
        },
        "networks": networks,
        "summary": {
            "gru_vs_baseline": best["test_bits_per_char"] / baseline_bits,
            "target_vs_baseline": TARGET_VS_BASELINE,
            "input_pipeline_characters_per_second": throughput,
            "training_characters_per_second": best["training_characters_per_second"],
            "pipeline_vs_training_step": {
                name: speed / best["training_characters_per_second"]
                for name, speed in throughput.items()
            },
            "target_pipeline_vs_training_step": TARGET_PIPELINE_SPEEDUP,
        },
    }
    write_results(f"{FAMILY}-{arguments.profile}", results)
    if len(networks) > 1:
        plot_validation_curves(networks, RESULTS / f"{FAMILY}-{arguments.profile}-stateful.png")


def plot_validation_curves(networks: list[dict[str, Any]], path: Path) -> None:
    """Validation loss per epoch of each network, side by side (stateless vs stateful)."""
    from components.core.plots import plot_compared_curves

    histories = {network["run"]: {"val_loss": network["val_loss_by_epoch"]} for network in networks}
    plot_compared_curves(histories, ["val_loss"], "chargen: validation loss per epoch", path)
    print(f"written {path}")


if __name__ == "__main__":
    main()
