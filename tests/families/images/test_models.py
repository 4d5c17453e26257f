"""The models' own promises: the PCA check recognises a linear autoencoder that spans PCA's
subspace, and the DCGAN tracks both players' losses at every epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.images.config import ImagesConfig
from components.families.images.family import ImagesFamily, pca_check
from components.families.images.models import KerasAutoencoder, PcaReconstruction
from components.families.images.sources import load_image_table

CONFIG = ImagesConfig.model_validate(
    {
        "dataset": {"max_images": 300},
        "architecture": {"latent_dim": 6, "filters": 4, "noise_dim": 4},
        "training": {"epochs": 2, "batch_size": 64, "max_train_batches": 2},
        "models": [{"name": "linear_ae"}, {"name": "dcgan"}],
    }
)


@pytest.fixture(scope="module")
def prepared():
    table = load_image_table(CONFIG.dataset)
    return ImagesFamily().prepare(table, Task(CONFIG, "digits"), DataVersion("d", "m", "p"))


def test_a_linear_autoencoder_set_to_pca_passes_the_pca_check_and_a_random_one_fails(
    prepared,
) -> None:
    from components.families.images.networks import build_linear_autoencoder

    run = CONFIG.resolve({"name": "linear_ae"})
    pca = PcaReconstruction(run, 8)
    pca.fit(prepared.images, Path(), [])
    model = KerasAutoencoder(run, 8)
    model.network = build_linear_autoencoder(run.architecture, 8)
    random = pca_check(prepared, run, model)
    # Encode onto the components around the mean, decode back: PCA's projection.
    components = pca.components_.astype("float32")
    model.network.get_layer("code").set_weights([components.T, -components @ pca.mean_])
    model.network.get_layer("decoded").set_weights([components, pca.mean_.astype("float32")])
    matched = pca_check(prepared, run, model)
    assert matched["pca_max_angle_degrees"] < 0.1
    assert matched["test_recon_mse_vs_pca"] == pytest.approx(1.0, abs=1e-4)
    assert random["pca_mean_angle_degrees"] > 20 and random["test_recon_mse_vs_pca"] > 1.5


def test_the_dcgan_tracks_both_losses_at_every_epoch(prepared, tmp_path: Path) -> None:
    run = CONFIG.resolve({"name": "dcgan"})
    fitted = ImagesFamily().fit(prepared, run, tmp_path, [])
    history = fitted.history
    assert len(history["d_loss"]) == len(history["g_loss"]) == 2
    assert np.isfinite(history["d_loss"] + history["g_loss"]).all()
    images = fitted.model.model.sample(4, seed=1)
    assert images.shape == (4, 8, 8) and images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, fitted.model.model.sample(4, seed=1))


def test_unknown_models_and_sizes_their_layers_cannot_halve_are_found_before_training() -> None:
    family = ImagesFamily()
    config = ImagesConfig.model_validate({"models": [{"name": "gan"}]})
    with pytest.raises(ValueError, match=r"valid names: .*'dcgan'"):
        family.check(config, config.runs())
    models = [{"name": name} for name in ("conv_ae", "dcgan", "ddpm", "linear_ae")]
    unfit = {}
    for size in (10, 9):
        config = ImagesConfig.model_validate({"dataset": {"image_size": size}, "models": models})
        prepared = type("Sized", (), {"dataset": config.dataset})()
        unfit[size] = family.unfit_runs(prepared, config.runs())
    # The U-Net halves once: an even size suits it, where the models halving twice need 4.
    assert sorted(unfit[10]) == ["conv_ae", "dcgan"]
    assert "halve the image twice: image_size 10 must divide by 4" in unfit[10]["dcgan"]
    assert sorted(unfit[9]) == ["conv_ae", "dcgan", "ddpm"]
    assert "halve the image once: image_size 9 must divide by 2 (e.g. 4, 6, 14)" in unfit[9]["ddpm"]


def test_the_unet_reads_an_even_size_that_does_not_divide_by_4() -> None:
    from components.families.images.config import DiffusionConfig, ImageArchitecture
    from components.families.images.networks import build_unet

    unet = build_unet(ImageArchitecture(filters=2), DiffusionConfig(time_dim=4), 10)
    noise = unet.predict_on_batch([np.zeros((1, 10, 10, 1)), np.zeros((1, 1))])
    assert noise.shape == (1, 10, 10, 1)


@pytest.mark.parametrize("name", sorted(ImagesFamily().model_names()))
def test_a_model_run_logs_exactly_the_architecture_the_model_reads(
    name: str, tmp_path: Path
) -> None:
    from components.families.images.config import ARCHITECTURE_READS
    from components.families.images.models import AUTOENCODER, build_image_model
    from tests.architecture_reads import ReadRecorder
    from tests.families.images.tiny import every_model_config
    from tests.families.images.tiny import prepared as tiny_prepared

    config = every_model_config()
    data = tiny_prepared(config)
    run = config.resolve({"name": name, "training": {"epochs": 1, "max_train_batches": 1}})
    recorder = ReadRecorder(run.architecture)
    # Fitted and used for real: a field read only while sampling counts too.
    model = build_image_model(run.model_copy(update={"architecture": recorder}), 8)
    model.fit(data.images, tmp_path, [])
    if model.kind == AUTOENCODER:
        model.reconstruct(data.images["test"][:2])
    else:
        model.sample(2, seed=0)
    assert recorder.read == set(ARCHITECTURE_READS[name])
    logged = ImagesFamily().run_params(data, run)
    assert set(logged["architecture"]) == recorder.read  # a DCGAN run logs no kl_weight
