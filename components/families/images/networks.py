"""Keras networks of the image family: autoencoders, the VAE, the DCGAN and the DDPM U-Net.

Builders are Functional; the VAE, the GAN and the diffusion model are ``keras.Model``
subclasses only for their ``train_step``, and save their Functional parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from components.families.images.config import DiffusionConfig, ImageArchitecture
from components.families.images.diffusion import noised

PACKAGE = "seqpipe.images"  # registered name space of the custom layers


@keras.saving.register_keras_serializable(package=PACKAGE)
class Sampling(layers.Layer):
    """The reparameterization trick: z = mean + exp(log_var / 2) * noise."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {"seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SinusoidalEmbedding(layers.Layer):
    """A diffusion step as sines and cosines of geometrically spaced frequencies."""

    def __init__(self, dim: int, max_period: float = 10_000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dim = dim
        self.max_period = max_period

    def call(self, steps):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(steps, "float32") * frequencies[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * (self.dim // 2))

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {"dim": self.dim, "max_period": self.max_period}


# --- autoencoders (reconstruct images in [0, 1]) ---------------------------------------------
def _image_input(size: int) -> keras.KerasTensor:
    return keras.Input((size, size, 1), name="image")


def build_linear_autoencoder(config: ImageArchitecture, size: int) -> keras.Model:
    """Undercomplete and linear: trained on MSE it spans the principal subspace (PCA)."""
    inputs = _image_input(size)
    code = layers.Dense(config.latent_dim, name="code")(layers.Flatten()(inputs))
    decoded = layers.Dense(size * size, name="decoded")(code)
    return keras.Model(inputs, layers.Reshape((size, size, 1))(decoded), name="linear_ae")


def _dense_autoencoder(
    config: ImageArchitecture,
    size: int,
    name: str,
    corrupt: layers.Layer | None = None,
    code_regularizer: layers.Layer | None = None,
) -> keras.Model:
    inputs = _image_input(size)
    hidden = layers.Flatten()(corrupt(inputs) if corrupt else inputs)
    for units in (config.units, config.units // 2):
        hidden = layers.Dense(units, activation="relu")(hidden)
    code = layers.Dense(config.latent_dim, activation="relu", name="code")(hidden)
    if code_regularizer:
        code = code_regularizer(code)
    hidden = code
    for units in (config.units // 2, config.units):
        hidden = layers.Dense(units, activation="relu")(hidden)
    decoded = layers.Dense(size * size, activation="sigmoid")(hidden)
    return keras.Model(inputs, layers.Reshape((size, size, 1))(decoded), name=name)


def build_stacked_autoencoder(config: ImageArchitecture, size: int) -> keras.Model:
    """Two hidden layers each side of the code, ReLU, sigmoid pixels."""
    return _dense_autoencoder(config, size, "stacked_ae")


def build_denoising_autoencoder(config: ImageArchitecture, size: int) -> keras.Model:
    """The stacked autoencoder fed noisy images while training (Gaussian noise, off at
    inference), so it learns to restore rather than copy."""
    noise = layers.GaussianNoise(config.noise_stddev, name="input_noise")
    return _dense_autoencoder(config, size, "denoising_ae", corrupt=noise)


def build_sparse_autoencoder(config: ImageArchitecture, size: int) -> keras.Model:
    """The stacked autoencoder with an L1 penalty on the code: few units fire per image."""
    sparsity = layers.ActivityRegularization(l1=config.sparsity, name="code_sparsity")
    return _dense_autoencoder(config, size, "sparse_ae", code_regularizer=sparsity)


def build_convolutional_autoencoder(config: ImageArchitecture, size: int) -> keras.Model:
    """Strided convolutions down to a dense code, transposed convolutions back up."""
    inputs = _image_input(size)
    filters = config.filters
    hidden = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(inputs)
    hidden = layers.Conv2D(2 * filters, 3, strides=2, padding="same", activation="relu")(hidden)
    code = layers.Dense(config.latent_dim, name="code")(layers.Flatten()(hidden))
    quarter = size // 4
    hidden = layers.Dense(quarter * quarter * 2 * filters, activation="relu")(code)
    hidden = layers.Reshape((quarter, quarter, 2 * filters))(hidden)
    hidden = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(
        hidden
    )
    decoded = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid")(hidden)
    return keras.Model(inputs, decoded, name="conv_ae")


AUTOENCODER_BUILDERS: dict[str, Callable[[ImageArchitecture, int], keras.Model]] = {
    "linear_ae": build_linear_autoencoder,
    "stacked_ae": build_stacked_autoencoder,
    "conv_ae": build_convolutional_autoencoder,
    "denoising_ae": build_denoising_autoencoder,
    "sparse_ae": build_sparse_autoencoder,
}


# --- variational autoencoder ------------------------------------------------------------------
def build_vae_encoder(config: ImageArchitecture, size: int, seed: int) -> keras.Model:
    """Image -> (z_mean, z_log_var, z): a diagonal Gaussian posterior and a sample of it."""
    inputs = _image_input(size)
    hidden = layers.Flatten()(inputs)
    for units in (config.units, config.units // 2):
        hidden = layers.Dense(units, activation="relu")(hidden)
    mean = layers.Dense(config.latent_dim, name="z_mean")(hidden)
    log_var = layers.Dense(config.latent_dim, name="z_log_var")(hidden)
    z = Sampling(seed, name="z")([mean, log_var])
    return keras.Model(inputs, [mean, log_var, z], name="vae_encoder")


def build_vae_decoder(config: ImageArchitecture, size: int) -> keras.Model:
    """Code -> pixel probabilities in [0, 1]."""
    codes = keras.Input((config.latent_dim,), name="code")
    hidden = codes
    for units in (config.units // 2, config.units):
        hidden = layers.Dense(units, activation="relu")(hidden)
    decoded = layers.Dense(size * size, activation="sigmoid")(hidden)
    return keras.Model(codes, layers.Reshape((size, size, 1))(decoded), name="vae_decoder")


class VariationalAutoencoder(keras.Model):
    """Trains an encoder and decoder on the evidence lower bound: pixel-wise binary
    cross-entropy summed over the image plus ``kl_weight`` x KL(q(z|x) || N(0, I))."""

    def __init__(
        self, encoder: keras.Model, decoder: keras.Model, kl_weight: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.kl_weight = encoder, decoder, kl_weight
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "reconstruction_loss", "kl_loss")
        }

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.decoder(self.encoder(images, training=training)[2], training=training)

    def _elbo_terms(self, images, training: bool) -> dict[str, Any]:
        mean, log_var, z = self.encoder(images, training=training)
        decoded = self.decoder(z, training=training)
        pixels = keras.losses.binary_crossentropy(images, decoded)  # (batch, height, width)
        reconstruction = ops.mean(ops.sum(pixels, axis=(1, 2)))
        kl = ops.mean(-0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=1))
        return {
            "loss": reconstruction + self.kl_weight * kl,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
        }

    def _track(self, losses: dict[str, Any]) -> dict[str, Any]:
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, images):
        with tf.GradientTape() as tape:
            losses = self._elbo_terms(images, training=True)
        gradients = tape.gradient(losses["loss"], self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        return self._track(losses)

    def test_step(self, images):
        return self._track(self._elbo_terms(images, training=False))


# --- DCGAN ------------------------------------------------------------------------------------
def build_dcgan_generator(config: ImageArchitecture, size: int) -> keras.Model:
    """Noise -> image in [-1, 1]: transposed strided convolutions, batch normalization and
    ReLU, a tanh output (Radford et al.'s guidelines)."""
    noise = keras.Input((config.noise_dim,), name="noise")
    quarter, filters = size // 4, config.filters
    hidden = layers.Dense(quarter * quarter * 2 * filters, use_bias=False)(noise)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((quarter, quarter, 2 * filters))(hidden)
    hidden = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(hidden)
    hidden = layers.ReLU()(layers.BatchNormalization()(hidden))
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(hidden)
    return keras.Model(noise, image, name="dcgan_generator")


def build_dcgan_discriminator(config: ImageArchitecture, size: int) -> keras.Model:
    """Image in [-1, 1] -> real/fake logit: strided convolutions (no pooling), LeakyReLU,
    batch normalization after the first layer."""
    image = keras.Input((size, size, 1), name="image")
    filters = config.filters
    hidden = layers.Conv2D(filters, 4, strides=2, padding="same")(image)
    hidden = layers.LeakyReLU(0.2)(hidden)
    hidden = layers.Conv2D(2 * filters, 4, strides=2, padding="same", use_bias=False)(hidden)
    hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))
    logit = layers.Dense(1)(layers.Flatten()(hidden))
    return keras.Model(image, logit, name="dcgan_discriminator")


class Dcgan(keras.Model):
    """Alternates a discriminator step (real vs generated) and a generator step (fool the
    discriminator); both losses are tracked per epoch."""

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        noise_dim: int,
        seed: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.noise_dim = generator, discriminator, noise_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss")}

    def compile(self, d_optimizer, g_optimizer) -> None:
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def _draw_noise(self, batch):
        return keras.random.normal((batch, self.noise_dim), seed=self.seed_generator)

    def train_step(self, real):
        batch = ops.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = self.generator(self._draw_noise(batch), training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(
                ops.zeros_like(fake_logits), fake_logits
            )
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights, strict=True))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(
                self.generator(self._draw_noise(batch), training=True), training=True
            )
            g_loss = self.bce(ops.ones_like(fake_logits), fake_logits)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights, strict=True))
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        d_value, g_value = self.trackers["d_loss"].result(), self.trackers["g_loss"].result()
        # "loss" is what every model's learning curve and checks read: the two players' sum.
        return {"d_loss": d_value, "g_loss": g_value, "loss": d_value + g_value}


# --- DDPM -------------------------------------------------------------------------------------
def _residual_block(hidden, filters: int, time) -> Any:
    """Two convolutions with the step's embedding added between them, and a skip."""
    skip = hidden if hidden.shape[-1] == filters else layers.Conv2D(filters, 1)(hidden)
    hidden = layers.Conv2D(filters, 3, padding="same", activation="swish")(hidden)
    shift = layers.Reshape((1, 1, filters))(layers.Dense(filters)(time))
    hidden = layers.Add()([hidden, shift])
    hidden = layers.Conv2D(filters, 3, padding="same", activation="swish")(hidden)
    return layers.Add()([layers.LayerNormalization()(hidden), skip])


def build_unet(config: ImageArchitecture, diffusion: DiffusionConfig, size: int) -> keras.Model:
    """(noisy image, step) -> predicted noise: one downsampling level, a middle block, one
    upsampling level with its skip connection; the step enters every block."""
    images = keras.Input((size, size, 1), name="noisy_image")
    steps = keras.Input((1,), name="step")
    time = SinusoidalEmbedding(diffusion.time_dim, name="step_embedding")(steps)
    time = layers.Dense(4 * config.filters, activation="swish")(time)
    filters = config.filters
    hidden = layers.Conv2D(filters, 3, padding="same")(images)
    high = _residual_block(hidden, filters, time)
    low = layers.Conv2D(2 * filters, 3, strides=2, padding="same")(high)
    low = _residual_block(low, 2 * filters, time)
    low = _residual_block(low, 2 * filters, time)
    up = layers.Conv2DTranspose(filters, 3, strides=2, padding="same")(low)
    hidden = _residual_block(layers.Concatenate()([up, high]), filters, time)
    noise = layers.Conv2D(1, 1, kernel_initializer="zeros", name="predicted_noise")(hidden)
    return keras.Model([images, steps], noise, name="ddpm_unet")


class DiffusionModel(keras.Model):
    """Trains the U-Net to predict the noise added at a random step of the forward process
    (the simple DDPM loss)."""

    def __init__(
        self, network: keras.Model, alpha_bars: np.ndarray, seed: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.alpha_bars = ops.convert_to_tensor(alpha_bars.astype("float32"))
        self.steps = len(alpha_bars)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.tracker]

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def _noise_prediction_loss(self, images, training: bool):
        batch = ops.shape(images)[0]
        steps = keras.random.randint((batch, 1), 0, self.steps, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(images), seed=self.seed_generator)
        alpha_bar = ops.reshape(ops.take(self.alpha_bars, steps), (-1, 1, 1, 1))
        noisy = noised(images, alpha_bar, noise)
        predicted = self.network([noisy, ops.cast(steps, "float32")], training=training)
        return ops.mean(ops.square(noise - predicted))

    def train_step(self, images):
        with tf.GradientTape() as tape:
            loss = self._noise_prediction_loss(images, training=True)
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}

    def test_step(self, images):
        self.tracker.update_state(self._noise_prediction_loss(images, training=False))
        return {"loss": self.tracker.result()}
