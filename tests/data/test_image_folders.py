"""`--data DIR` with one sub-folder of images per class (capsnet.data.folders)."""

import json
import logging

import numpy as np
import pytest
from PIL import Image

from capsnet import data as datasets
from capsnet.data import SAMPLE
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke

# subprocesses or training runs; the home by hand, to even out the suites (tests/rotation.py)
pytestmark = [pytest.mark.slow, pytest.mark.one_backend("tensorflow")]

NAMES = ("seven", "two", "one")  # the sample's first test digits are 7, 2, 1, 0, ...


def digits_by_class(split, per_class):
    """{name: [uint8 28x28 images]} of the sample's digits 7, 2 and 1."""
    with np.load(SAMPLE) as sample:
        x, y = sample[f"x_{split}"], sample[f"y_{split}"]
    return {name: x[y == digit][:per_class] for name, digit in zip(NAMES, (7, 2, 1), strict=True)}


def write_folders(root, layout=("train", "test"), per_class=(8, 3), colour=False, size=None):
    for split, count in zip(layout, per_class, strict=True):
        for name, images in digits_by_class("train" if split == "train" else "test", count).items():
            folder = root / split / name if split else root / name
            folder.mkdir(parents=True, exist_ok=True)
            for index, pixels in enumerate(images):
                image = Image.fromarray(pixels)
                if colour:
                    image = Image.merge("RGB", (image, image.point(lambda v: v // 2), image))
                if size:
                    image = image.resize(size)
                image.save(folder / f"{index}.png" if index % 2 else folder / f"{index}.jpg", quality=95)
    return root


def test_train_test_predict_with_class_names(tmp_path, caplog):
    root = write_folders(tmp_path / "digits")
    (root / "train" / "two" / "notes.txt").write_text("not an image")
    (root / "train" / "one" / "broken.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        datasets.load(path=root)
    assert "ignored 1 file(s)" in caplog.text and "skipped 1 unreadable" in caplog.text
    assert "broken.png" in caplog.text
    run = tmp_path / "run"
    args = ["train", "--model", "efficient-capsnet", "--data", root, "--epochs", "1", "--seed", "0"]
    result = invoke(*args, "--batch-size", "8", "--save-dir", run)
    assert result.exit_code == 0, result.output
    assert "training on 24 images" in result.output

    weights = run / "trained_model.keras"
    tested = invoke("test", "--weights", weights, "--data", root, "--save-dir", run)
    assert tested.exit_code == 0, tested.output
    for name in NAMES:
        assert f"| {name} | 3 |" in tested.output
    image = next((root / "test" / "two").glob("*.png"))
    predicted = invoke("predict", "--weights", weights, "--json", image)
    assert predicted.exit_code == 0, predicted.output
    record = json.loads(predicted.output)[0]
    assert record["class_name"] in NAMES
    assert list(record["lengths_by_class"]) == sorted(NAMES)  # folder names, in label order
    assert list(record["lengths_by_class"].values()) == record["lengths"]
    text = invoke("predict", "--weights", weights, image)
    assert all(f"{name} 0." in text.output or f"{name} 1." in text.output for name in NAMES), text.output

    strict = invoke(*args, "--strict", "--save-dir", tmp_path / "strict")
    assert_input_error(strict, "cannot be read as images", "broken.png")


def test_colour_mixed_sizes_and_a_validation_split(tmp_path):
    root = write_folders(tmp_path / "flat", layout=("",), per_class=(10,), colour=True)
    write_folders(tmp_path / "other", layout=("",), per_class=(2,), colour=True, size=(32, 30))
    for path in (tmp_path / "other").rglob("*.*"):
        path.rename(root / path.parent.name / f"big-{path.name}")
    with pytest.raises(CapsNetInputError, match=r"different sizes .* pass image_size=\(H, W\)"):
        datasets.load(path=root, folders={"validation_split": 0.25})
    with pytest.raises(CapsNetInputError, match="or pass validation_split=0.2"):
        datasets.load(path=root, folders={"image_size": (28, 28)})
    data = datasets.load(path=root, folders={"image_size": (32, 32), "validation_split": 0.25})
    assert data.class_names == ("one", "seven", "two")
    assert data.x_train.shape[1:] == (32, 32, 3) and data.x_train.dtype == np.uint8
    assert len(data.x_train) + len(data.x_test) == 36 and len(data.x_test) == 9
    assert set(data.y_test) == {0, 1, 2}
    grey = datasets.load(path=root, folders={"image_size": (28, 28), "validation_split": 0.25, "channels": 1})
    assert grey.x_test.shape[1:] == (28, 28, 1)


def test_folders_that_cannot_train(tmp_path):
    empty = tmp_path / "empty"
    (empty / "train" / "a").mkdir(parents=True)
    (empty / "test" / "a").mkdir(parents=True)
    assert_input_error(invoke("train", "--data", empty, "--save-dir", tmp_path / "r1"), "has no images")
    single = write_folders(tmp_path / "single")
    for name in NAMES[1:]:
        for split in ("train", "test"):
            for path in (single / split / name).iterdir():
                path.unlink()
            (single / split / name).rmdir()
    assert_input_error(invoke("train", "--data", single, "--save-dir", tmp_path / "r2"), "only one class")
    small = write_folders(tmp_path / "small", size=(12, 12))
    result = invoke("train", "--data", small, "--save-dir", tmp_path / "r3")
    assert_input_error(result, "at least 17x17", "12x12")
    assert not (tmp_path / "r3" / "trained_model.keras").exists()
