"""Image models by name: Keras autoencoders and generators (``networks.py``, Keras loaded only
when one is built) and the PCA baselines, behind one fit / save / load shape."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from components.core.persistence import read_settings, write_manifest
from components.families.images.config import ResolvedImageRun

AUTOENCODER = "autoencoder"  # reconstructs the images it is given
GENERATOR = "generator"  # draws new images
History = dict[str, list[float]]


class ImageModel(ABC):
    """A model of ``image_size`` x ``image_size`` grayscale images with pixels in [0, 1]."""

    kind: ClassVar[str]

    def __init__(self, run: ResolvedImageRun, image_size: int) -> None:
        self.run = run
        self.image_size = image_size

    @property
    def name(self) -> str:
        return self.run.name

    @abstractmethod
    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        """Fit on ``images["train"]`` (validation: ``images["validation"]``); per-epoch history."""

    @abstractmethod
    def _save_state(self, directory: Path) -> None: ...

    @abstractmethod
    def _load_state(self, directory: Path) -> None: ...

    def save(self, directory: Path) -> None:
        """Write the model and the run it was trained with into ``directory``."""
        settings = {"run": self.run.model_dump(mode="json"), "image_size": self.image_size}
        write_manifest(directory, self, settings)
        self._save_state(directory)

    @classmethod
    def load(cls, directory: Path) -> Self:
        """A model written by ``save``."""
        settings = read_settings(directory)
        model = cls(ResolvedImageRun.model_validate(settings["run"]), settings["image_size"])
        model._load_state(Path(directory))
        return model


class Reconstructor(ImageModel):
    kind = AUTOENCODER

    @abstractmethod
    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """(n, size, size) images in [0, 1] -> their reconstructions, clipped to [0, 1]."""


class Generator(ImageModel):
    kind = GENERATOR

    @abstractmethod
    def sample(self, count: int, seed: int) -> np.ndarray:
        """``count`` new (size, size) images in [0, 1]; the same seed gives the same images."""


def flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


class PcaReconstruction(Reconstructor):
    """Projection on the training split's first ``latent_dim`` principal components: the
    linear autoencoder's optimum, and the reconstruction baseline."""

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        from sklearn.decomposition import PCA

        pca = PCA(self.run.architecture.latent_dim, random_state=self.run.training.seed)
        pca.fit(flat(images["train"]))
        self.mean_, self.components_ = pca.mean_, pca.components_
        return {}

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        codes = (flat(images) - self.mean_) @ self.components_.T
        decoded = codes @ self.components_ + self.mean_
        return np.clip(decoded, 0.0, 1.0).reshape(images.shape)

    def _save_state(self, directory: Path) -> None:
        np.savez(directory / "pca.npz", mean=self.mean_, components=self.components_)

    def _load_state(self, directory: Path) -> None:
        with np.load(directory / "pca.npz") as state:
            self.mean_, self.components_ = state["mean"], state["components"]


class PcaGaussian(Generator):
    """A Gaussian fitted to the training images' codes in a ``components``-dimensional PCA
    space, sampled and decoded: the trivial generator every generator must beat."""

    components = 16

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        from sklearn.decomposition import PCA

        pca = PCA(self.components, random_state=self.run.training.seed)
        codes = pca.fit_transform(flat(images["train"]))
        self.mean_, self.components_ = pca.mean_, pca.components_
        self.code_mean_, self.code_covariance_ = codes.mean(axis=0), np.cov(codes, rowvar=False)
        return {}

    def sample(self, count: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        codes = rng.multivariate_normal(self.code_mean_, self.code_covariance_, size=count)
        decoded = codes @ self.components_ + self.mean_
        return np.clip(decoded, 0.0, 1.0).reshape(count, self.image_size, self.image_size)

    def _save_state(self, directory: Path) -> None:
        np.savez(
            directory / "pca_gaussian.npz",
            mean=self.mean_,
            components=self.components_,
            code_mean=self.code_mean_,
            code_covariance=self.code_covariance_,
        )

    def _load_state(self, directory: Path) -> None:
        with np.load(directory / "pca_gaussian.npz") as state:
            self.mean_, self.components_ = state["mean"], state["components"]
            self.code_mean_, self.code_covariance_ = state["code_mean"], state["code_covariance"]


def _channels(images: np.ndarray) -> np.ndarray:
    return images[..., None].astype("float32")


def _signed(images: np.ndarray) -> np.ndarray:
    """[0, 1] -> [-1, 1], the range of tanh outputs and of diffusion noise."""
    return _channels(images) * 2.0 - 1.0


def _unit(images: Any) -> np.ndarray:
    """[-1, 1] network output -> (n, size, size) in [0, 1]."""
    return np.clip((np.asarray(images)[..., 0] + 1.0) / 2.0, 0.0, 1.0)


def _batches(images: np.ndarray, run: ResolvedImageRun, targets: bool = False):
    """A seeded, shuffled tf.data pipeline of (images[, images]) batches."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((images, images) if targets else images)
    data = data.shuffle(len(images), seed=run.training.seed, reshuffle_each_iteration=True)
    return data.batch(run.training.batch_size).prefetch(tf.data.AUTOTUNE)


def _fit(
    trainer: Any,
    splits: dict[str, np.ndarray],
    run: ResolvedImageRun,
    backup_dir: Path,
    callbacks: list[Any],
    targets: bool = False,
) -> dict[str, list[float]]:
    """Fit ``trainer`` on the training images, stopping on the validation images' loss."""
    from components.core.training import fit_model  # Keras: loaded by training only

    datasets = {split: _batches(images, run, targets) for split, images in splits.items()}
    return fit_model(trainer, datasets, run.training, backup_dir, callbacks)


class SavedNetwork:
    """The state of a Keras model: the one network that reconstructs or generates
    (``self.network``; a VAE's decoder, a GAN's generator), saved as ``network.keras``."""

    network: Any

    def _save_state(self, directory: Path) -> None:
        self.network.save(directory / "network.keras")

    def _load_state(self, directory: Path) -> None:
        import keras

        import components.families.images.networks  # noqa: F401  (registers the custom layers)

        self.network = keras.models.load_model(directory / "network.keras")


class KerasAutoencoder(SavedNetwork, Reconstructor):
    """A Functional autoencoder of ``networks.AUTOENCODER_BUILDERS`` trained on pixel MSE."""

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        from components.core.training import make_optimizer, seed_everything
        from components.families.images.networks import AUTOENCODER_BUILDERS

        seed_everything(self.run.training.seed)
        self.network = AUTOENCODER_BUILDERS[self.name](self.run.architecture, self.image_size)
        self.network.compile(optimizer=make_optimizer(self.run.training.optimizer), loss="mse")
        splits = {split: _channels(images[split]) for split in ("train", "validation")}
        return _fit(self.network, splits, self.run, backup_dir, callbacks, targets=True)

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        decoded = self.network.predict(_channels(images), verbose=0)[..., 0]
        return np.clip(decoded, 0.0, 1.0)


class VaeGenerator(SavedNetwork, Generator):
    """A variational autoencoder; it generates by decoding codes drawn from N(0, I)."""

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        from components.core.training import make_optimizer, seed_everything
        from components.families.images import networks

        seed_everything(self.run.training.seed)
        architecture, seed = self.run.architecture, self.run.training.seed
        self.encoder = networks.build_vae_encoder(architecture, self.image_size, seed)
        self.network = networks.build_vae_decoder(architecture, self.image_size)
        trainer = networks.VariationalAutoencoder(
            self.encoder, self.network, architecture.kl_weight
        )
        trainer.compile(optimizer=make_optimizer(self.run.training.optimizer))
        splits = {split: _channels(images[split]) for split in ("train", "validation")}
        trainer(splits["train"][:1])  # built, so ResumableEpochs can restore its weights
        return _fit(trainer, splits, self.run, backup_dir, callbacks)

    def sample(self, count: int, seed: int) -> np.ndarray:
        codes = np.random.default_rng(seed).standard_normal(
            (count, self.run.architecture.latent_dim)
        )
        return np.clip(self.network.predict(codes.astype("float32"), verbose=0)[..., 0], 0, 1)


class DcganGenerator(SavedNetwork, Generator):
    """A DCGAN; it generates by feeding the generator Gaussian noise."""

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:

        from components.core.training import ResumableEpochs, make_optimizer, seed_everything
        from components.families.images import networks

        seed_everything(self.run.training.seed)
        architecture, training = self.run.architecture, self.run.training
        self.network = networks.build_dcgan_generator(architecture, self.image_size)
        gan = networks.Dcgan(
            self.network,
            networks.build_dcgan_discriminator(architecture, self.image_size),
            architecture.noise_dim,
            training.seed,
        )
        gan.compile(make_optimizer(training.optimizer), make_optimizer(training.optimizer))
        gan.discriminator(gan(np.zeros((1, architecture.noise_dim), "float32")))  # built
        train = _batches(_signed(images["train"]), self.run)
        if training.max_train_batches:
            train = train.take(training.max_train_batches)
        # No validation loss means anything for a GAN: no early stopping, every epoch runs.
        history = gan.fit(
            train,
            epochs=training.epochs,
            callbacks=[*callbacks, ResumableEpochs(backup_dir)],
            verbose=0,
        )
        return {
            name: [float(value) for value in values] for name, values in history.history.items()
        }

    def sample(self, count: int, seed: int) -> np.ndarray:
        noise = np.random.default_rng(seed).standard_normal(
            (count, self.run.architecture.noise_dim)
        )
        return _unit(self.network.predict(noise.astype("float32"), verbose=0))


class DdpmGenerator(SavedNetwork, Generator):
    """A denoising diffusion model; it generates by ancestral sampling from pure noise."""

    def fit(self, images: dict[str, np.ndarray], backup_dir: Path, callbacks: list[Any]) -> History:
        from components.core.training import make_optimizer, seed_everything
        from components.families.images import networks
        from components.families.images.diffusion import NoiseSchedule

        seed_everything(self.run.training.seed)
        self.network = networks.build_unet(
            self.run.architecture, self.run.diffusion, self.image_size
        )
        schedule = NoiseSchedule.of(self.run.diffusion)
        trainer = networks.DiffusionModel(self.network, schedule.alpha_bars, self.run.training.seed)
        trainer.compile(optimizer=make_optimizer(self.run.training.optimizer))
        splits = {split: _signed(images[split]) for split in ("train", "validation")}
        trainer([splits["train"][:1], np.zeros((1, 1), "float32")])  # built, for ResumableEpochs
        return _fit(trainer, splits, self.run, backup_dir, callbacks)

    def sample(self, count: int, seed: int) -> np.ndarray:
        from components.families.images.diffusion import NoiseSchedule

        schedule = NoiseSchedule.of(self.run.diffusion)
        rng = np.random.default_rng(seed)
        shape = (count, self.image_size, self.image_size, 1)
        images = rng.standard_normal(shape).astype("float32")
        for step in reversed(range(schedule.steps)):
            steps = np.full((count, 1), step, dtype="float32")
            predicted = np.asarray(self.network([images, steps], training=False))
            noise = rng.standard_normal(shape).astype("float32")
            images = schedule.denoise_step(images, step, predicted, noise).astype("float32")
        return _unit(images)


# Model name -> its class, beside the Keras autoencoders (``networks.AUTOENCODER_BUILDERS``,
# each a KerasAutoencoder): a new autoencoder is one builder there.
MODELS: dict[str, type[ImageModel]] = {
    "pca_reconstruction": PcaReconstruction,
    "pca_gaussian": PcaGaussian,
    "vae": VaeGenerator,
    "dcgan": DcganGenerator,
    "ddpm": DdpmGenerator,
}


def model_types() -> dict[str, type[ImageModel]]:
    """The family's registry: every model name and its class (loads Keras' builders)."""
    from components.families.images.networks import AUTOENCODER_BUILDERS

    return MODELS | dict.fromkeys(AUTOENCODER_BUILDERS, KerasAutoencoder)


# How many times a model's strided layers halve the image (the convolutional autoencoder and
# the DCGAN twice, the U-Net once): the image size must divide by 2 ** halvings.
HALVINGS = {"conv_ae": 2, "dcgan": 2, "ddpm": 1}


def size_problem(name: str, image_size: int) -> str | None:
    """Why the model ``name`` cannot read images of ``image_size`` (None: it can)."""
    halvings = HALVINGS.get(name, 0)
    divisor = 2**halvings
    if image_size % divisor == 0:
        return None
    times = "once" if halvings == 1 else "twice"
    examples = ", ".join(str(divisor * factor) for factor in (2, 3, 7))
    return (
        f"its strided layers halve the image {times}: image_size {image_size} must divide by "
        f"{divisor} (e.g. {examples})"
    )


def build_image_model(run: ResolvedImageRun, image_size: int) -> ImageModel:
    """The unfitted model a run names.

    Raises:
        ValueError: if no model has that name (the message lists the valid names).
    """
    types = model_types()
    if run.name not in types:
        raise ValueError(f"unknown image model {run.name!r}; valid names: {sorted(types)}")
    return types[run.name](run, image_size)
