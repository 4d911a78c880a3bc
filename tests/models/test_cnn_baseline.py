"""The paper's baseline CNN (`cnn-baseline`): its size, its outputs against the
numpy reference, its loss, its file, and the commands on it."""

import json

import keras
import numpy as np
import pytest

from capsnet import models
from capsnet.data.examples import ClassExamples, Examples
from capsnet.model_files import atomic_save, load_capsnet
from capsnet.training import compile_for_training, inputs_and_targets
from tests import reference
from tests.helpers import assert_input_error, invoke

SMALL = (6, 6, 1)


def paper_parameter_count(height, width, channels, classes=10):
    """The parameters of Section 5's baseline, counted by hand: 5x5 'same'
    convolutions of 256, 256 and 128 channels, dense layers of 328 and 192."""
    convs = (channels * 256 + 256 * 256 + 256 * 128) * 25 + 256 + 256 + 128
    dense = height * width * 128 * 328 + 328 + 328 * 192 + 192 + 192 * classes + classes
    return convs + dense


def test_the_baseline_has_the_papers_35_4_million_parameters():
    built = models.build("cnn-baseline", (28, 28, 1), 10)
    assert built.train.count_params() == paper_parameter_count(28, 28, 1) == 35_445_522
    assert round(built.train.count_params() / 1e6, 1) == 35.4  # the paper: "35.4M"
    assert built.manipulate is None  # no decoder, no capsules to draw


def _weights(built):
    body = built.evaluate.get_layer("body")
    names = ("conv1", "conv2", "conv3", "fc1", "fc2", "logits")
    return {name: body.get_layer(name).get_weights() for name in names}


def test_probabilities_equal_the_numpy_reference(rng):
    built = models.build("cnn-baseline", SMALL, 10, seed=1)
    images = rng.random((3, *SMALL), dtype=np.float32)
    got = keras.ops.convert_to_numpy(built.evaluate(images))
    expected = reference.cnn_baseline(images.astype(np.float64), _weights(built))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_training_minimises_the_cross_entropy_of_the_probabilities(rng):
    built = models.build("cnn-baseline", SMALL, 10, shift_pixels=0, seed=1)
    compile_for_training(built.train)
    images = rng.integers(0, 256, (4, *SMALL)).astype(np.uint8)
    labels = np.array([0, 3, 3, 9])
    x, y = inputs_and_targets(images, labels, 10, built.train)
    assert x.shape == (4, *SMALL) and y.shape == (4, 10)  # the image in, the labels out: no decoder
    # dropout is active in training: evaluate, which runs the model as at inference
    loss = built.train.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    probabilities = reference.cnn_baseline(x.astype(np.float64), _weights(built))
    assert loss == pytest.approx(reference.cross_entropy(y, probabilities), rel=1e-4)


def test_class_examples_give_images_and_labels_of_any_examples(rng):
    images, labels = rng.integers(0, 256, (5, *SMALL)).astype(np.uint8), np.arange(5)
    examples = ClassExamples(Examples(images, labels, 10))
    x, y = examples[np.array([4, 1])]
    np.testing.assert_array_equal(y.argmax(1), [4, 1])
    np.testing.assert_allclose(x, images[[4, 1]] / 255, atol=1e-7)
    assert len(examples.part(slice(0, 2))) == 2 and examples.inputs_only()[[0]][0].shape == (1, *SMALL)
    assert not hasattr(examples, "at_epoch")  # stored examples are not drawn afresh


def test_a_saved_baseline_loads_as_its_family_and_predicts_the_same(tmp_path, rng):
    built = models.build("cnn-baseline", SMALL, 3, seed=1)
    path = tmp_path / "cnn.keras"
    atomic_save(built.train, path, optimizer=False)
    assert models.family_of_file(path).name == "cnn-baseline"
    loaded = load_capsnet(path)
    images = rng.random((2, *SMALL), dtype=np.float32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.evaluate(images)),
        keras.ops.convert_to_numpy(built.evaluate(images)),
        rtol=1e-6,
    )
    assert models.family_of_model(loaded.train).scores == "probabilities"


@pytest.fixture(scope="module")
def small_images(tmp_path_factory):
    """24 training and 12 test 8x8 images of 3 classes: the CNN's 35M parameters
    at 28x28 would make a command-line test train for minutes."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("cnn") / "small.npz"
    labels = np.arange(36) % 3
    images = (rng.random((36, 8, 8)) * 60).astype(np.uint8)
    for k in range(3):  # a bright bar per class: learnable in a few steps
        images[labels == k, 2 * k + 1 : 2 * k + 3, :] = 250
    np.savez(path, x_train=images[:24], y_train=labels[:24], x_test=images[24:], y_test=labels[24:])
    return path


@pytest.mark.slow
@pytest.mark.one_backend("torch")  # the home by hand, to even out the suites
def test_train_test_and_predict_the_baseline_from_the_command_line(tmp_path, small_images):
    run = tmp_path / "run"
    result = invoke(
        "train", "--model", "cnn-baseline", "--data", small_images, "--epochs", "2", "--batch-size", "8",
        "--seed", "1", "--save-dir", run, "--save-classifier",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    log = (run / "log.csv").read_text().splitlines()
    assert log[0].split(",")[:2] == ["epoch", "accuracy"] and len(log) == 3
    assert json.loads((run / "run.json").read_text())["options"]["model"] == "cnn-baseline"

    tested = invoke("test", "--weights", run / "trained_model.keras", "--data", small_images)
    assert tested.exit_code == 0, tested.output
    assert "on 12 images (no decoder: no reconstructions)" in tested.output

    np.save(tmp_path / "one.npy", np.load(small_images)["x_test"][:1])
    for weights in (run / "trained_model.keras", run / "classifier.keras"):
        predicted = invoke("predict", "--weights", weights, tmp_path / "one.npy", "--json")
        assert predicted.exit_code == 0, predicted.output
        (row,) = json.loads(predicted.output)
        assert "lengths" not in row and sum(row["probabilities"]) == pytest.approx(1, abs=1e-3)
        assert row["class"] == int(np.argmax(row["probabilities"]))
    said = invoke("predict", "--weights", run / "trained_model.keras", tmp_path / "one.npy")
    assert "(probability " in said.output and "probabilities: 0 " in said.output

    # Under jax, `export` writes ONNX in a fresh process of a backend that can.
    onnx = pytest.importorskip("onnxruntime")
    exported = invoke("export", "--weights", run / "trained_model.keras", "--output", tmp_path / "cnn.onnx")
    assert exported.exit_code == 0, exported.output
    session = onnx.InferenceSession(str(tmp_path / "cnn.onnx"))
    assert [output.name for output in session.get_outputs()] == ["probabilities"]
    image = (np.load(small_images)["x_test"][:1, ..., None] / 255).astype("float32")
    (probabilities,) = session.run(None, {"image": image})
    assert probabilities.sum() == pytest.approx(1, abs=1e-5)

    drawn = invoke("manipulate", "--weights", run / "trained_model.keras", "--data", small_images)
    assert_input_error(drawn, "has no decoder")

    again = invoke(
        "train", "--data", small_images, "--epochs", "3", "--batch-size", "8", "--save-dir", run, "--resume"
    )
    assert again.exit_code == 0, again.output
    assert len((run / "log.csv").read_text().splitlines()) == 4


def test_options_the_baseline_has_no_use_for_are_refused(tmp_path, small_images):
    for option in (("--routings", "2"), ("--lam-recon", "0.5")):
        result = invoke(
            "train", "--model", "cnn-baseline", "--data", small_images, *option, "--save-dir", tmp_path / "r"
        )
        assert_input_error(result, option[0], "the CNN baseline has no")
