"""The DDPM forward process has the mean and variance the schedule promises, and a sampling
step given the true noise walks back to the image."""

from __future__ import annotations

import numpy as np
import pytest

from components.families.images.config import DiffusionConfig
from components.families.images.diffusion import NoiseSchedule


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_noising_at_step_t_has_the_known_mean_and_variance(schedule: str) -> None:
    noise_schedule = NoiseSchedule.of(DiffusionConfig(steps=50, schedule=schedule))
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (4, 4))
    copies = np.repeat(image[None], 20_000, axis=0)
    for step in (0, 10, 49):
        noisy = noise_schedule.noisy(
            copies, np.full(len(copies), step), rng.standard_normal(copies.shape)
        )
        alpha_bar = noise_schedule.alpha_bars[step]
        np.testing.assert_allclose(noisy.mean(axis=0), np.sqrt(alpha_bar) * image, atol=0.03)
        np.testing.assert_allclose(noisy.var(axis=0), 1 - alpha_bar, rtol=0.05, atol=1e-3)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_the_schedule_ends_in_noise_whatever_the_number_of_steps(schedule: str) -> None:
    for steps in (20, 1000):
        alpha_bars = NoiseSchedule.of(DiffusionConfig(steps=steps, schedule=schedule)).alpha_bars
        assert np.all(np.diff(alpha_bars) < 0)
        assert alpha_bars[0] > 0.9 and alpha_bars[-1] < 0.01


def test_the_last_sampling_step_given_the_true_noise_returns_the_image() -> None:
    schedule = NoiseSchedule.of(DiffusionConfig(steps=10))
    rng = np.random.default_rng(1)
    image, noise = rng.uniform(-1, 1, (1, 4, 4)), rng.standard_normal((1, 4, 4))
    noisy = schedule.noisy(image, np.array([0]), noise)
    restored = schedule.denoise_step(noisy, 0, noise, rng.standard_normal((1, 4, 4)))
    np.testing.assert_allclose(restored, image, atol=1e-9)


def test_training_noises_images_with_the_schedule_s_forward_process(monkeypatch) -> None:
    from keras import ops

    from components.families.images import networks
    from components.families.images.config import ImageArchitecture
    from components.families.images.diffusion import noised

    rng = np.random.default_rng(2)
    images, noise = rng.uniform(-1, 1, (2, 4, 4, 1)), rng.standard_normal((2, 4, 4, 1))
    alpha_bar = np.array([0.9, 0.2]).reshape(-1, 1, 1, 1)
    on_tensors = noised(*(ops.convert_to_tensor(value) for value in (images, alpha_bar, noise)))
    np.testing.assert_allclose(ops.convert_to_numpy(on_tensors), noised(images, alpha_bar, noise))

    seen = []
    monkeypatch.setattr(networks, "noised", lambda *args: seen.append(args) or noised(*args))
    config = DiffusionConfig(steps=10, time_dim=4)
    unet = networks.build_unet(ImageArchitecture(filters=2), config, 4)
    trainer = networks.DiffusionModel(unet, NoiseSchedule.of(config).alpha_bars, seed=0)
    loss = trainer._noise_prediction_loss(images.astype("float32"), training=False)
    assert len(seen) == 1 and np.isfinite(ops.convert_to_numpy(loss))
