"""Configuration of the generative image family."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from components.core.config import (
    FamilyConfig,
    GateConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
    named_after_source,
)

ImageSource = Literal["digits", "npz", "png_folder", "mnist", "fashion_mnist"]


class DatasetConfig(StrictModel):
    """Where the images come from, their size and their split."""

    # Registered models are autoencoder-<name> and generator-<name>. Default: the file or
    # folder's stem, or the packaged source's name.
    name: str
    # digits: scikit-learn load_digits (8x8, shipped); npz: arrays `images` and `labels`;
    # png_folder: one subfolder of PNGs per label; mnist / fashion_mnist: local IDX files
    source: ImageSource = "digits"
    path: Path | None = None  # file sources (relative: to the config file)
    image_size: int = Field(8, ge=4, le=64)  # every image is resized to this square size
    labels: list[str] = Field(default_factory=lambda: [str(digit) for digit in range(10)])
    max_images: int | None = Field(None, ge=10)  # stratified subsample (large MNIST files)
    # Shares of the images. digits: a stratified, seeded draw (the documented split). Your
    # images: a seeded hash of each image's pixels decides, so the split stays the same as
    # the images grow (not stratified: the suite stops a split that lacks a label).
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 42  # seeds the split (the draw or the hash) and the subsample

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        return named_after_source(
            data, data.get("source", "digits") if isinstance(data, dict) else None
        )

    @model_validator(mode="after")
    def _source_needs(self) -> DatasetConfig:
        if self.source != "digits" and self.path is None:
            raise ValueError(f"path is required when source is {self.source!r}")
        if len(set(self.labels)) != len(self.labels) or len(self.labels) < 2:
            raise ValueError(f"labels must be at least two distinct names: {self.labels}")
        if self.validation_fraction + self.test_fraction >= 0.8:
            raise ValueError("validation_fraction + test_fraction must leave training data")
        return self


class ImageArchitecture(StrictModel):
    """Hyperparameters of the networks; each builder reads the fields it needs."""

    latent_dim: int = Field(16, ge=1)  # code size of the autoencoders and the VAE
    units: int = Field(128, ge=1)  # hidden units of the dense encoders and decoders
    filters: int = Field(32, ge=1)  # first convolution's filters; doubled once per downsampling
    noise_dim: int = Field(32, ge=1)  # DCGAN: the generator's noise vector
    noise_stddev: float = Field(0.2, ge=0)  # denoising: Gaussian noise on the input
    sparsity: float = Field(1e-4, ge=0)  # sparse: L1 activity regularization of the code
    kl_weight: float = Field(1.0, gt=0)  # VAE: weight of the KL term


# Each model's architecture fields (checked against the model as it fits): a run logs only
# its own. PCA-Gaussian's code size is fixed, the U-Net's schedule is the diffusion section.
ARCHITECTURE_READS: dict[str, tuple[str, ...]] = {
    "pca_reconstruction": ("latent_dim",),
    "pca_gaussian": (),
    "linear_ae": ("latent_dim",),
    "stacked_ae": ("units", "latent_dim"),
    "denoising_ae": ("units", "latent_dim", "noise_stddev"),
    "sparse_ae": ("units", "latent_dim", "sparsity"),
    "conv_ae": ("filters", "latent_dim"),
    "vae": ("units", "latent_dim", "kl_weight"),
    "dcgan": ("filters", "noise_dim"),
    "ddpm": ("filters",),
}


class DiffusionConfig(StrictModel):
    """The DDPM forward process and sampler."""

    steps: int = Field(200, ge=2)  # noising steps T; ancestral sampling walks them back
    schedule: Literal["linear", "cosine"] = "cosine"
    beta_start: float = Field(1e-4, gt=0, lt=1)  # linear schedule
    beta_end: float = Field(0.02, gt=0, lt=1)  # linear schedule
    time_dim: int = Field(32, ge=2)  # sinusoidal time embedding size

    @model_validator(mode="after")
    def _ordered(self) -> DiffusionConfig:
        if self.beta_start >= self.beta_end:
            raise ValueError("beta_start must be below beta_end")
        return self


class ImageTrainingConfig(TrainingConfig):
    """How an image model is fitted."""

    loss: Literal["mse"] = "mse"  # reconstruction and noise prediction


class ScoringConfig(StrictModel):
    """Sample quality: the digit classifier whose features give the Frechet distance."""

    classifier_epochs: int = Field(20, ge=1)
    feature_dim: int = Field(64, ge=2)  # penultimate layer: the FID feature space
    samples: int = Field(1000, ge=10)  # generated images scored per generator


class ResolvedImageRun(ResolvedRun):
    """A model run with every field decided."""

    architecture: ImageArchitecture
    diffusion: DiffusionConfig
    training: ImageTrainingConfig

    @property
    def key(self) -> str:
        """The model name, with the schedule of a diffusion model that is not the default."""
        if self.name == "ddpm" and self.diffusion.schedule != "cosine":
            return f"{self.name}-{self.diffusion.schedule}"
        return self.name


class ImagesConfig(FamilyConfig[ResolvedImageRun]):
    """Everything an image flow needs."""

    dataset: DatasetConfig = Field(default_factory=lambda: DatasetConfig.model_validate({}))
    architecture: ImageArchitecture = ImageArchitecture()
    diffusion: DiffusionConfig = DiffusionConfig()
    training: ImageTrainingConfig = ImageTrainingConfig()
    scoring: ScoringConfig = ScoringConfig()
    # The reconstruction models' gate (autoencoder-<dataset>) ...
    gate: GateConfig = GateConfig(metric="test_recon_mse", greater_is_better=False)
    # ... and the generators' (generator-<dataset>): two registered models, two metrics.
    generator_gate: GateConfig = GateConfig(metric="test_fid", greater_is_better=False)
