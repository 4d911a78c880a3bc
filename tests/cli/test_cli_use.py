import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from capsnet.data import SAMPLE
from tests.helpers import assert_input_error, invoke

# subprocesses or training runs; the home by hand, to even out the suites (tests/rotation.py)
pytestmark = [pytest.mark.slow, pytest.mark.one_backend("tensorflow")]


def test_test_command(trained_dir, tiny_npz, tmp_path):
    result = invoke(
        "test", "--weights", trained_dir / "trained_model.keras", "--data", tiny_npz, "--save-dir", tmp_path
    )
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "on 20 images" in result.output
    assert (tmp_path / "real_and_recon.png").is_file()


def test_manipulate_command(trained_dir, tiny_npz, tmp_path):
    result = invoke(
        "manipulate",
        "--weights",
        trained_dir / "trained_model.keras",
        "--digit",
        "4",
        "--data",
        tiny_npz,
        "--save-dir",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "manipulate-4.png") as image:
        width, height = image.size
    assert height > width  # 16 dimensions (rows) x 11 offsets (columns)


def test_predict_images_and_npy(trained_dir, tmp_path):
    with np.load(SAMPLE) as sample:
        digits = sample["x_test"][:3]
    Image.fromarray(digits[0]).resize((56, 56)).convert("RGB").save(tmp_path / "big_colour.png")
    Image.fromarray(255 - digits[1]).save(tmp_path / "dark_on_light.jpg")
    np.save(tmp_path / "batch.npy", digits)
    weights = trained_dir / "trained_model.keras"
    result = invoke("predict", "--weights", weights, tmp_path / "big_colour.png", tmp_path / "batch.npy")
    assert result.exit_code == 0, result.output
    assert "big_colour.png: class" in result.output and "batch.npy[2]" in result.output
    result = invoke("predict", "--weights", weights, "--json", "--invert", tmp_path / "dark_on_light.jpg")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)
    assert 0 <= record["class"] < 10 and len(record["lengths"]) == 10
    assert list(record["lengths_by_class"]) == [str(i) for i in range(10)]  # no names saved: the indices


def test_predict_a_folder_in_batches_as_file_by_file(trained_dir, tmp_path, monkeypatch):
    """A folder (any depth, hidden files and other files left out) gives the
    results that naming each file gives, in sorted order, whatever the batch."""
    from capsnet.commands import evaluate

    with np.load(SAMPLE) as sample:
        digits = sample["x_test"][:7]
    folder = tmp_path / "pictures"
    (folder / "more").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for index in range(4):
        Image.fromarray(digits[index]).save(folder / f"{index}.png")
    np.save(folder / "more" / "three.npy", digits[4:7])
    Image.fromarray(digits[0]).save(folder / ".hidden" / "skipped.png")
    (folder / "notes.txt").write_text("not an image")
    weights = trained_dir / "trained_model.keras"
    named = [folder / f"{i}.png" for i in range(4)] + [folder / "more" / "three.npy"]
    one_by_one = json.loads(invoke("predict", "--weights", weights, "--json", *named).output)
    assert [r["input"] for r in one_by_one][-3:] == [
        f"{folder / 'more' / 'three.npy'}[{i}]" for i in range(3)
    ]
    monkeypatch.setattr(evaluate, "PREDICT_BATCH", 3)  # batches that cut the .npy's file off
    result = invoke("predict", "--weights", weights, "--json", folder)
    assert result.exit_code == 0, result.output
    in_batches = json.loads(result.output)
    assert [r["input"] for r in in_batches] == [r["input"] for r in one_by_one]
    for mine, theirs in zip(in_batches, one_by_one, strict=True):
        assert mine["class"] == theirs["class"]
        np.testing.assert_allclose(mine["lengths"], theirs["lengths"], atol=2e-4)
    text = invoke("predict", "--weights", weights, folder).output.splitlines()
    assert len(text) == 7 and text[0].startswith(f"{folder / '0.png'}: class")


def test_predict_refuses_a_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    assert_input_error(
        invoke("predict", "--weights", "efficient-capsnet-mnist", tmp_path),
        f"folder {tmp_path} holds no image files",
    )


def test_info(trained_dir):
    result = invoke("info")
    assert result.exit_code == 0, result.output
    assert "parameters: 8,215,568" in result.output and "keras" in result.output
    result = invoke("info", "--weights", trained_dir / "trained_model.keras")
    assert result.exit_code == 0 and "digitcaps" in result.output


def test_bad_model_files(tmp_path, trained_dir):
    good = (trained_dir / "trained_model.keras").read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good[: len(good) // 2])
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    not_keras = tmp_path / "other.keras"
    with zipfile.ZipFile(not_keras, "w") as archive:
        archive.writestr("hello.txt", "hi")
    cases = {
        tmp_path / "missing.keras": "not found",
        truncated: "not a .keras model",
        text: "not a .keras model",
        not_keras: "not a Keras model",
    }
    for path, message in cases.items():
        assert_input_error(invoke("test", "--weights", path, "--dataset", "sample"), message)
        assert_input_error(invoke("predict", "--weights", path, tmp_path / "x.npy"), message)
    assert truncated.read_bytes() == good[: len(good) // 2]  # inputs are never touched


def test_model_for_another_input_shape(tmp_path, tiny_npz):
    import capsnet

    path = tmp_path / "colour.keras"
    capsnet.build_capsnet(input_shape=(32, 32, 3), num_classes=5).train.save(path)
    assert_input_error(invoke("test", "--weights", path, "--data", tiny_npz), "(32, 32, 3)", "(28, 28, 1)")
    assert_input_error(
        invoke("train", "--weights", path, "--data", tiny_npz, "--save-dir", tmp_path / "r"), "(32, 32, 3)"
    )
    np.save(tmp_path / "mnist_sized.npy", np.zeros((2, 28, 28), dtype="float32"))
    assert_input_error(invoke("predict", "--weights", path, tmp_path / "mnist_sized.npy"), "(2, 28, 28)")


def test_unreadable_image(trained_dir, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    weights = trained_dir / "trained_model.keras"
    assert_input_error(invoke("predict", "--weights", weights, fake), "cannot read", "fake.png")
    assert_input_error(invoke("predict", "--weights", weights, tmp_path / "nope.png"), "not found")


def test_digit_out_of_range(trained_dir, tiny_npz, tmp_path):
    result = invoke(
        "manipulate",
        "--weights",
        trained_dir / "trained_model.keras",
        "--digit",
        "12",
        "--data",
        tiny_npz,
        "--save-dir",
        tmp_path,
    )
    assert_input_error(result, "--digit 12")
