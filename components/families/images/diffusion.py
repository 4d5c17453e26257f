"""The DDPM forward process: noise schedules, noising at step t, the ancestral sampling step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from components.families.images.config import DiffusionConfig

# Ho et al. tuned the linear schedule for 1,000 steps; with fewer steps the betas scale up by
# 1000 / steps (as in Nichol & Dhariwal) so that the last step still reaches pure noise.
REFERENCE_STEPS = 1000
COSINE_OFFSET = 0.008  # Nichol & Dhariwal's s: keeps the first betas from vanishing
MAX_BETA = 0.999


@dataclass(frozen=True)
class NoiseSchedule:
    """Per-step betas and their products; step ``t`` runs from 0 to ``steps - 1``."""

    betas: np.ndarray

    @classmethod
    def of(cls, config: DiffusionConfig) -> NoiseSchedule:
        return cls(SCHEDULES[config.schedule](config))

    @property
    def steps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        """The signal kept after t + 1 steps: x_t = sqrt(abar) x_0 + sqrt(1 - abar) noise."""
        return np.cumprod(self.alphas)

    def noisy(self, images: np.ndarray, steps: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Samples of q(x_t | x_0) at each image's step (see ``noised``)."""
        alpha_bar = self.alpha_bars[steps].reshape(-1, *([1] * (images.ndim - 1)))
        return noised(images, alpha_bar, noise)

    def denoise_step(
        self, images: np.ndarray, step: int, predicted_noise: np.ndarray, noise: np.ndarray
    ) -> np.ndarray:
        """One ancestral step x_t -> x_{t-1}: the mean of q(x_{t-1} | x_t, x_0) at the clean
        image the predicted noise implies, clipped to the data range [-1, 1] (a few steps from
        pure noise that estimate overshoots), plus the posterior's spread (none at step 0)."""
        alpha, alpha_bar = self.alphas[step], self.alpha_bars[step]
        previous = self.alpha_bars[step - 1] if step > 0 else 1.0
        clean = (images - np.sqrt(1.0 - alpha_bar) * predicted_noise) / np.sqrt(alpha_bar)
        clean = np.clip(clean, -1.0, 1.0)
        mean = (
            np.sqrt(previous) * self.betas[step] * clean
            + np.sqrt(alpha) * (1.0 - previous) * images
        ) / (1.0 - alpha_bar)
        if step == 0:
            return mean
        variance = self.betas[step] * (1.0 - previous) / (1.0 - alpha_bar)
        return mean + np.sqrt(variance) * noise


def noised(images: Any, alpha_bar: Any, noise: Any) -> Any:
    """Samples of q(x_t | x_0) given abar_t (broadcast against the images): mean
    sqrt(abar_t) x_0, variance 1 - abar_t. Plain arithmetic, so the training step runs it on
    tensors and the schedule on NumPy arrays: one forward process for both."""
    return alpha_bar**0.5 * images + (1.0 - alpha_bar) ** 0.5 * noise


def linear_betas(config: DiffusionConfig) -> np.ndarray:
    scale = REFERENCE_STEPS / config.steps
    return np.clip(
        np.linspace(config.beta_start * scale, config.beta_end * scale, config.steps),
        0.0,
        MAX_BETA,
    )


def cosine_betas(config: DiffusionConfig) -> np.ndarray:
    positions = np.arange(config.steps + 1) / config.steps
    alpha_bar = np.cos((positions + COSINE_OFFSET) / (1 + COSINE_OFFSET) * np.pi / 2) ** 2
    return np.clip(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.0, MAX_BETA)


SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}
