"""No silent mismatch: class names compared when a model meets a dataset, and
notes for grey/colour conversions and dark-on-light drawings."""

import logging

import numpy as np
import pytest
from PIL import Image

from capsnet.commands.class_match import check_class_names
from capsnet.data import SAMPLE, pictures
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke


def test_names_that_differ_are_refused_with_the_fix():
    with pytest.raises(CapsNetInputError, match="--match-classes-by-index") as caught:
        check_class_names(None, ("circles", "squares", "triangles"), 10)
    assert "0, 1, 2, 3, 4, 5, ... (10 in all)" in str(caught.value)
    assert "circles, squares, triangles" in str(caught.value)
    with pytest.raises(CapsNetInputError, match="cat, dog"):
        check_class_names(["cat", "dog"], ("dog", "cat"), 2)


def test_names_that_agree_or_a_mapping_given_pass():
    check_class_names(None, ("0", "1", "2"), 10)  # digit folders of an MNIST model
    check_class_names(["cat", "dog"], ("cat", "dog"), 2)
    check_class_names(["cat", "dog"], None, 2)  # integer labels are class indices
    check_class_names(None, ("circles", "squares"), 10, by_index=True)


def _digit_folders(root, names):
    with np.load(SAMPLE) as sample:
        x, y = sample["x_test"], sample["y_test"]
    for split in ("train", "test"):
        for label, name in enumerate(names):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in np.flatnonzero(y == label)[:2]:
                Image.fromarray(x[index]).save(folder / f"{index}.png")
    return root


@pytest.mark.slow
@pytest.mark.one_backend
def test_test_refuses_folders_named_unlike_the_model(trained_dir, tmp_path):
    shapes = _digit_folders(tmp_path / "shapes", ["circles", "squares", "triangles"])
    weights = trained_dir / "trained_model.keras"
    result = invoke("test", "--weights", weights, "--data", shapes, "--save-dir", tmp_path)
    assert_input_error(result, "circles, squares, triangles", "--match-classes-by-index")
    result = invoke(
        "test", "--weights", weights, "--data", shapes, "--save-dir", tmp_path, "--match-classes-by-index"
    )
    assert result.exit_code == 0, result.output
    result = invoke(
        "train", "--weights", weights, "--data", shapes, "--epochs", "1", "--save-dir", tmp_path / "more"
    )
    assert_input_error(result, "circles, squares, triangles")


def test_dark_on_light_is_recognised():
    light_on_dark = np.zeros((1, 28, 28, 1), "float32")
    light_on_dark[0, 8:20, 12:15] = 1.0
    assert not pictures.looks_dark_on_light(light_on_dark)
    assert pictures.looks_dark_on_light(1.0 - light_on_dark)
    assert not pictures.looks_dark_on_light(np.full((1, 28, 28, 1), 0.9, "float32"))  # no strokes


def test_pictures_note_conversions_and_a_light_ground(tmp_path, caplog):
    with np.load(SAMPLE) as sample:
        digit = sample["x_test"][0]
    Image.fromarray(255 - digit).save(tmp_path / "drawn.png")
    Image.fromarray(digit).convert("RGB").save(tmp_path / "colour.png")
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        pictures.load_for_model(tmp_path / "drawn.png", (28, 28, 1))
    assert "looks dark on light" in caplog.text and "invert=True" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        pictures.load_for_model(tmp_path / "drawn.png", (28, 28, 1), invert=True)
        pictures.load_for_model(tmp_path / "drawn.png", (28, 28, 3))
    assert "dark on light" not in caplog.text and "is a grey image; the model takes colour" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="capsnet"):
        pictures.load_for_model(tmp_path / "colour.png", (28, 28, 1))
    assert "is a colour image; the model takes grey" in caplog.text


@pytest.mark.slow
@pytest.mark.one_backend
def test_predict_prints_the_invert_note_in_option_words(trained_dir, tmp_path):
    with np.load(SAMPLE) as sample:
        Image.fromarray(255 - sample["x_test"][0]).save(tmp_path / "drawn.png")
    result = invoke("predict", "--weights", trained_dir / "trained_model.keras", tmp_path / "drawn.png")
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "pass --invert if the answer looks wrong" in result.output
