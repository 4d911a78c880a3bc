"""Datasets and images are checked once, at the edge: converted correctly and
said so, or refused with one line and exit code 2. Never a silent wrong result."""

import logging

import numpy as np
import pytest
from PIL import Image

from capsnet import data
from capsnet.data import pictures, validation
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke


def write_npz(path, x_train, y_train, x_test=None, y_test=None):
    x_test = x_train if x_test is None else x_test
    y_test = y_train if y_test is None else y_test
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture
def digits(rng):
    """Six uint8 28x28 images, classes 0..2 twice."""
    return rng.integers(0, 256, (6, 28, 28)).astype("uint8"), np.arange(6) % 3


def test_column_labels_are_class_labels_not_one_hot(tmp_path, digits):
    x, y = digits
    loaded = data.load(path=write_npz(tmp_path / "d.npz", x, y[:, None]))
    np.testing.assert_array_equal(loaded.y_train, y)
    assert loaded.num_classes == 3


def test_one_hot_labels_accepted_and_bad_one_hot_refused(tmp_path, digits):
    x, y = digits
    loaded = data.load(path=write_npz(tmp_path / "d.npz", x, np.eye(3)[y]))
    np.testing.assert_array_equal(loaded.y_train, y)
    with pytest.raises(CapsNetInputError, match="not one-hot"):
        data.load(path=write_npz(tmp_path / "bad.npz", x, np.full((6, 3), 0.5)))


def test_float_pixels_in_0_255_are_scaled_and_noted(tmp_path, digits, caplog):
    x, y = digits
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        loaded = data.load(path=write_npz(tmp_path / "d.npz", x.astype("float32"), y))
    np.testing.assert_allclose(loaded.x_train[..., 0], x / 255.0, rtol=1e-6)
    assert "divided by 255" in caplog.text


def test_uint16_pixels_are_divided_by_65535(tmp_path, digits):
    x, y = digits
    wide = x.astype("uint16") * 257  # the same image at 16 bits
    loaded = data.load(path=write_npz(tmp_path / "d.npz", wide, y))
    np.testing.assert_allclose(loaded.x_train[..., 0], x / 255.0, rtol=1e-6)


def test_channels_first_is_moved_to_channels_last(tmp_path, digits, caplog):
    x, y = digits
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        loaded = data.load(path=write_npz(tmp_path / "d.npz", x[:, None], y))
    assert loaded.input_shape == (28, 28, 1)
    assert "channels-first" in caplog.text


@pytest.mark.parametrize(
    "pixels, message",
    [
        (np.full((6, 28, 28), np.nan, "float32"), "NaN or infinite"),
        (np.full((6, 28, 28), np.inf, "float32"), "NaN or infinite"),
        (np.full((6, 28, 28), -0.5, "float32"), "negative"),
        (np.full((6, 28, 28), 300.0, "float32"), "up to 300"),
        (np.full((6, 28, 28), 70000, "int32"), "up to 70000"),
        (np.full((6, 28, 28), "a"), "dtype"),
    ],
)
def test_bad_pixels_are_refused(tmp_path, digits, pixels, message):
    _, y = digits
    with pytest.raises(CapsNetInputError, match=message):
        data.load(path=write_npz(tmp_path / "d.npz", pixels, y))


def test_nan_pixels_stop_train_before_any_file_is_written(tmp_path, digits):
    x, y = digits
    bad = x.astype("float32") / 255
    bad[2, 3, 4] = np.nan
    path = write_npz(tmp_path / "d.npz", bad, y)
    save_dir = tmp_path / "run"
    assert_input_error(invoke("train", "--data", path, "--save-dir", save_dir), "NaN", "x_train")
    assert not (save_dir / "trained_model.keras").exists()


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 2, 0, 1, -1]), "negative"),
        (np.array([0.5, 1, 2, 0, 1, 2]), "dtype"),
        (np.zeros((6, 2, 2), "int64"), "shape"),
        (np.zeros(6, "int64"), "one class"),
    ],
)
def test_bad_labels_are_refused(tmp_path, digits, labels, message):
    x, _ = digits
    with pytest.raises(CapsNetInputError, match=message):
        data.load(path=write_npz(tmp_path / "d.npz", x, labels))


def test_empty_split_is_refused(tmp_path, digits):
    x, y = digits
    with pytest.raises(CapsNetInputError, match="no images"):
        data.load(path=write_npz(tmp_path / "d.npz", x, y, x[:0], y[:0]))


@pytest.mark.slow  # trains a model (trained_dir)
@pytest.mark.one_backend
def test_test_labels_outside_the_models_classes(tmp_path, trained_dir, digits):
    x, y = digits
    path = write_npz(tmp_path / "d.npz", x, y, x, np.array([0, 1, 2, 3, 11, 4]))
    assert_input_error(
        invoke(
            "test", "--weights", trained_dir / "trained_model.keras", "--data", path, "--save-dir", tmp_path
        ),
        "label 11",
        "classes 0..9",
    )


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    pixels = np.zeros((28, 28), "uint16")
    pixels[8:20, 10:18] = 30000  # 46% grey at 16 bits: Pillow's convert("L") clips it to white
    path = tmp_path / "deep.png"
    Image.fromarray(pixels).save(path)
    with Image.open(path) as image:
        assert image.mode.startswith("I")  # really stored at 16 bits
    got = pictures.load_for_model(path, (28, 28, 1))
    np.testing.assert_allclose(got[0, ..., 0], pixels / 65535.0, atol=1e-6)


def test_npy_input_is_validated(tmp_path):
    path = tmp_path / "bad.npy"
    np.save(path, np.full((28, 28), np.nan, "float32"))
    with pytest.raises(CapsNetInputError, match="NaN"):
        pictures.load_for_model(path, (28, 28, 1))


@pytest.mark.slow  # trains a model (trained_dir)
@pytest.mark.one_backend
def test_predict_refuses_a_model_that_outputs_nan(tmp_path, trained_dir, digits):
    from capsnet.model_files import atomic_save, load_capsnet

    models = load_capsnet(trained_dir / "trained_model.keras")
    W = models.train.get_layer("digitcaps").kernel
    W.assign(np.full(W.shape, np.nan, "float32"))
    broken = tmp_path / "nan.keras"
    atomic_save(models.train, broken)
    image = tmp_path / "digit.npy"
    np.save(image, digits[0][0])
    result = invoke("predict", "--weights", broken, "--json", image)
    assert_input_error(result, "non-finite", "retrain")
    assert "NaN" not in result.output.replace("(NaN)", "")  # no bare NaN was printed as JSON


def test_integer_pixels_up_to_255_in_wide_types(digits):
    x, _ = digits
    np.testing.assert_allclose(validation.unit_pixels(x.astype("int64"), "x"), x / 255.0, rtol=1e-6)


@pytest.mark.parametrize(
    "option, value",
    [
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--lr", "-1"),
        ("--lr-decay", "nan"),
        ("--lam-recon", "inf"),
        ("--lam-recon", "-0.1"),
        ("--batch-size", "1000000000"),
        ("--seed", "-1"),
    ],
)
def test_unchecked_options_are_refused(tmp_path, option, value):
    result = invoke(
        "train",
        "--dataset",
        "sample",
        "--subset",
        "10",
        "--epochs",
        "1",
        option,
        value,
        "--save-dir",
        tmp_path / "run",
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and option in result.output
    assert not (tmp_path / "run").exists()
