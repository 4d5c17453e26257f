"""The generative image family: autoencoders and generators of small grayscale images."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import (
    Evaluation,
    Family,
    Fitted,
    Gate,
    LoggedModel,
    Prepared,
    Scores,
    Task,
)
from components.core.drift import DriftStatistic
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.images.config import (
    ARCHITECTURE_READS,
    DatasetConfig,
    ImagesConfig,
    ResolvedImageRun,
)
from components.families.images.drift import image_drift
from components.families.images.models import (
    AUTOENCODER,
    GENERATOR,
    PcaReconstruction,
    build_image_model,
    model_types,
    size_problem,
)
from components.families.images.plots import plot_image_grid, plot_reconstructions
from components.families.images.serving import (
    AutoencoderModel,
    GeneratorModel,
    ImageModelWrapper,
    image_table,
)
from components.families.images.sources import SPLITS, load_image_table, pixel_columns
from components.families.images.suite import validate_image_table

# The family's baselines, one per registered model: what a user would have without training.
BASELINES = {AUTOENCODER: "pca_reconstruction", GENERATOR: "pca_gaussian"}
FLOOR_METRICS = {AUTOENCODER: "test_recon_mse_baseline", GENERATOR: "test_fid_baseline"}
EXAMPLE_IMAGES = 3  # test images logged as an autoencoder's input example
GRID_IMAGES = 20  # reconstructions shown; generators show GRID_SAMPLES
GRID_SAMPLES = 64


@dataclass(frozen=True)
class PreparedImages(Prepared[ImagesConfig]):
    """A validated image table and its images per split, pixels in [0, 1]."""

    frame: pd.DataFrame
    images: dict[str, np.ndarray]  # split -> (n, size, size) float32
    targets: dict[str, np.ndarray]  # split -> label positions in dataset.labels

    @property
    def dataset(self) -> DatasetConfig:
        """The config's dataset section: source, image size, labels and split."""
        return self.config.dataset

    def splits(self) -> Mapping[str, pd.DataFrame]:
        return {
            split: self.frame.loc[self.frame["split"] == split].drop(columns="split")
            for split in SPLITS
        }


def kind_of(run: ResolvedImageRun) -> str:
    """Whether a run's model is an autoencoder or a generator."""
    return model_types()[run.name].kind


class ImagesFamily(Family[ImagesConfig, PreparedImages, ResolvedImageRun, ImageModelWrapper]):
    """Images in, reconstructions or new images out. Two registered models per dataset:
    ``autoencoder-<dataset>`` (lower test_recon_mse wins) and ``generator-<dataset>`` (lower
    test_fid wins)."""

    name = "images"
    leaderboard_columns = ("fid_real", "test_label_coverage", "train_seconds")
    baselines = tuple(BASELINES.values())
    architecture_reads = ARCHITECTURE_READS
    floor_metric = FLOOR_METRICS[AUTOENCODER]  # `gate` picks each registered model's own

    def tasks(self, config: ImagesConfig) -> list[str]:
        return [config.dataset.name]

    def model_names(self) -> list[str]:
        return sorted(model_types())

    def baseline_runs(
        self, config: ImagesConfig, runs: list[ResolvedImageRun]
    ) -> list[ResolvedImageRun]:
        kinds = {kind_of(run) for run in runs}
        return [config.resolve({"name": name}) for kind, name in BASELINES.items() if kind in kinds]

    def registered_model(self, task: Task[ImagesConfig], run: ResolvedImageRun) -> str:
        return f"{kind_of(run)}-{task.name}"

    def gate(self, config: ImagesConfig, run: ResolvedImageRun) -> Gate:
        kind = kind_of(run)
        rule = config.gate if kind == AUTOENCODER else config.generator_gate
        return Gate.of(rule, FLOOR_METRICS[kind], BASELINES[kind])

    def run_params(self, prepared: PreparedImages, run: ResolvedImageRun) -> dict[str, Any]:
        config = prepared.config
        model = {"kind": kind_of(run)} | super().run_params(prepared, run)
        if run.name != "ddpm":
            model.pop("diffusion")
        scoring = (
            {"scoring": config.scoring.model_dump(mode="json")} if kind_of(run) == GENERATOR else {}
        )
        data = {f"n_{split}": len(prepared.targets[split]) for split in SPLITS}
        return model | scoring | {"dataset": prepared.dataset.model_dump(mode="json")} | data

    # --- data ------------------------------------------------------------------------------
    def load_table(self, task: Task[ImagesConfig]) -> pd.DataFrame:
        return load_image_table(task.config.dataset)

    def read_raw(self, path: Path, task: Task[ImagesConfig]) -> pd.DataFrame:
        # Only an empty field is missing: "NA", "None" or "null" may be a label. A pixel that
        # is not a number (e.g. "nan") still counts as missing in the suite.
        return pd.read_csv(
            path,
            dtype={"image": str, "label": str, "split": str},
            keep_default_na=False,
            na_values=[""],
        )

    def validate(self, frame: pd.DataFrame, task: Task[ImagesConfig]) -> ValidationReport:
        return validate_image_table(frame, task.config.dataset, task.name)

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[ImagesConfig]
    ) -> list[DriftStatistic]:
        return image_drift(reference, current, task.config.dataset.image_size)

    def prepare(
        self, frame: pd.DataFrame, task: Task[ImagesConfig], data: DataVersion
    ) -> PreparedImages:
        dataset = task.config.dataset
        size = dataset.image_size
        positions = {label: index for index, label in enumerate(dataset.labels)}
        parts = {split: frame.loc[frame["split"] == split] for split in SPLITS}
        return PreparedImages(
            task=task,
            data=data,
            frame=frame.reset_index(drop=True),
            images={
                split: part[pixel_columns(size)].to_numpy("float32").reshape(-1, size, size)
                for split, part in parts.items()
            },
            targets={
                split: part["label"].map(positions).to_numpy("int64")
                for split, part in parts.items()
            },
        )

    def unfit_runs(self, prepared: PreparedImages, runs: list[ResolvedImageRun]) -> dict[str, str]:
        size = prepared.dataset.image_size
        problems = {run.key: size_problem(run.name, size) for run in runs}
        return {key: problem for key, problem in problems.items() if problem}

    # --- models ----------------------------------------------------------------------------
    def fit(
        self,
        prepared: PreparedImages,
        run: ResolvedImageRun,
        backup_dir: Path,
        callbacks: list[Any],
    ) -> Fitted[ImageModelWrapper]:
        model = build_image_model(run, prepared.dataset.image_size)
        history = model.fit(prepared.images, backup_dir, callbacks)
        wrapper = AutoencoderModel if model.kind == AUTOENCODER else GeneratorModel
        return Fitted(model=wrapper(model), history=history)

    def log_model(self, prepared: PreparedImages, fitted: Fitted[ImageModelWrapper]) -> LoggedModel:
        return fitted.model.log(prepared.images["test"][:EXAMPLE_IMAGES])

    def score(
        self, prepared: PreparedImages, run: ResolvedImageRun, model: ImageModelWrapper
    ) -> Scores:
        config = prepared.config
        made = self._outputs(prepared, run, model)
        test = prepared.images["test"]
        evaluated_on: dict[str, Any] = {"kind": kind_of(run)}
        if kind_of(run) == AUTOENCODER:
            metrics = {
                "test_recon_mse": float(np.mean((made - test) ** 2)),
                "test_images": float(len(test)),
            }
            return Scores(metrics, evaluated_on, made)
        from components.families.images.quality import coverage, scorer_for

        scorer = scorer_for(
            prepared.data.file_md5,
            prepared.images,
            prepared.targets,
            len(prepared.dataset.labels),
            config.scoring,
            config.training.seed,
        )
        fid = scorer.fid(made, test)
        fid_real = scorer.fid(test, prepared.images["train"])
        shares = scorer.label_shares(made)
        metrics = {
            "test_fid": fid,
            "fid_real": fid_real,
            "test_fid_vs_real": fid / fid_real,
            "classifier_test_accuracy": scorer.test_accuracy,
            "test_label_coverage": coverage(shares),
            "test_top_label_share": float(shares.max()),
            "test_samples": float(len(made)),
        }
        # The score depends on the feature classifier too.
        evaluated_on["scoring"] = config.scoring.model_dump(mode="json")
        return Scores(metrics, evaluated_on, made)

    def report(
        self,
        prepared: PreparedImages,
        run: ResolvedImageRun,
        model: ImageModelWrapper,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        kind = kind_of(run)
        made: np.ndarray = scores.outputs
        gate_metric = self.gate(prepared.config, run).metric
        metrics = {}
        # The baseline's score beside every model's; the baseline's run holds its own.
        own = scores.metrics if self.is_baseline(run) else {}
        baseline = reference if reference is not None else own
        if baseline:
            metrics[FLOOR_METRICS[kind]] = baseline[gate_metric]
        title = f"{prepared.task.name} {run.key}: {gate_metric} {scores.metrics[gate_metric]:.4f}"
        if kind == AUTOENCODER:
            if run.name == "linear_ae":
                metrics |= pca_check(prepared, run, model.model)
            test = prepared.images["test"][:GRID_IMAGES]
            grid = plot_reconstructions(
                test, made[:GRID_IMAGES], title, out_dir / "reconstructions.png"
            )
        else:
            grid = plot_image_grid(made[:GRID_SAMPLES], 8, title, out_dir / "samples.png")
        return Evaluation(metrics, [grid])

    @staticmethod
    def _outputs(
        prepared: PreparedImages, run: ResolvedImageRun, model: ImageModelWrapper
    ) -> np.ndarray:
        """Reconstructions of the test images, or generated samples, through the pyfunc."""
        size = prepared.dataset.image_size
        if kind_of(run) == AUTOENCODER:
            table = model.predict(None, image_table(prepared.images["test"]))
        else:
            params = {"num_samples": prepared.config.scoring.samples, "seed": run.training.seed}
            table = model.predict(None, pd.DataFrame({"batch": [0]}), params=params)
        return table[pixel_columns(size)].to_numpy("float64").reshape(-1, size, size)


def pca_check(prepared: PreparedImages, run: ResolvedImageRun, model: Any) -> dict[str, float]:
    """The linear autoencoder against PCA with as many components: the largest principal
    angle between the decoder's span and PCA's subspace, and the test MSE ratio."""
    from scipy.linalg import subspace_angles

    pca = PcaReconstruction(run, prepared.dataset.image_size)
    pca.fit(prepared.images, Path(), [])
    decoder = np.asarray(model.network.get_layer("decoded").kernel)  # (latent_dim, pixels)
    angles = np.degrees(subspace_angles(decoder.T, pca.components_.T))
    test = prepared.images["test"]
    pca_mse = float(np.mean((pca.reconstruct(test) - test) ** 2))
    own_mse = float(np.mean((model.reconstruct(test) - test) ** 2))
    return {
        "pca_max_angle_degrees": float(angles.max()),
        "pca_mean_angle_degrees": float(angles.mean()),
        "test_recon_mse_pca": pca_mse,
        "test_recon_mse_vs_pca": own_mse / pca_mse,
    }
