"""Images other than 28x28x1: colour 32x32 on every backend, and too-small images refused."""

import json

import numpy as np
import pytest
from PIL import Image

from capsnet.data import SAMPLE
from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # subprocesses or training runs


def colour_digits(path, size=32, n_train=40, n_test=20):
    """MNIST digits padded to `size` and tinted into three different channels."""
    with np.load(SAMPLE) as sample:
        pad = (size - 28) // 2, size - 28 - (size - 28) // 2
        arrays = {}
        for split, n in (("train", n_train), ("test", n_test)):
            grey = np.pad(sample[f"x_{split}"][:n], ((0, 0), pad, pad))
            arrays[f"x_{split}"] = np.stack([grey, grey // 2, 255 - grey], axis=-1).astype("uint8")
            arrays[f"y_{split}"] = sample[f"y_{split}"][:n]
    np.savez(path, **arrays)
    return arrays


@pytest.mark.parametrize("model", ["capsnet", "efficient-capsnet"])
def test_colour_32x32_trains_tests_and_predicts(model, tmp_path):
    arrays = colour_digits(tmp_path / "colour.npz")
    run = tmp_path / "run"
    train = ["train", "--model", model, "--data", tmp_path / "colour.npz", "--epochs", "1"]
    result = invoke(*train, "--batch-size", "20", "--seed", "0", "--save-dir", run)
    assert result.exit_code == 0, result.output
    weights = run / "trained_model.keras"
    tested = invoke("test", "--weights", weights, "--data", tmp_path / "colour.npz", "--save-dir", run)
    assert tested.exit_code == 0 and "on 20 images" in tested.output, tested.output
    Image.fromarray(arrays["x_test"][0]).save(tmp_path / "colour.png")
    predicted = invoke("predict", "--weights", weights, "--json", tmp_path / "colour.png")
    assert predicted.exit_code == 0, predicted.output
    assert len(json.loads(predicted.output)[0]["lengths"]) == 10


@pytest.mark.parametrize("model, size, smallest", [("capsnet", 16, 17), ("efficient-capsnet", 10, 11)])
def test_too_small_images_name_the_smallest_size(model, size, smallest, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 255, (6, size, size), dtype=np.uint8),
        "y_train": np.arange(6) % 2,
        "x_test": rng.integers(0, 255, (2, size, size), dtype=np.uint8),
        "y_test": np.arange(2) % 2,
    }
    np.savez(tmp_path / "small.npz", **arrays)
    result = invoke("train", "--model", model, "--data", tmp_path / "small.npz", "--save-dir", tmp_path / "r")
    assert_input_error(result, f"at least {smallest}x{smallest}", f"{size}x{size}")
