"""`train --class-capsules shared`: CapsNet with `SharedCapsuleLayer`, through
the commands, and refused where it cannot apply."""

import json

import numpy as np
import pytest

from capsnet.layers import SharedCapsuleLayer
from capsnet.model_files import load_capsnet
from tests.helpers import assert_input_error, invoke

# training runs; the home by hand, to even out the suites (tests/rotation.py)
pytestmark = [pytest.mark.slow, pytest.mark.one_backend("torch")]


def test_a_shared_model_trains_tests_predicts_and_resumes(tmp_path, tiny_npz):
    run = tmp_path / "run"
    options = ["--data", tiny_npz, "--batch-size", "10", "--seed", "2", "--save-dir", run]
    result = invoke("train", "--class-capsules", "shared", "--epochs", "1", *options)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "run.json").read_text())["options"]["class_capsules"] == "shared"
    model = load_capsnet(run / "trained_model.keras")
    digitcaps = model.train.get_layer("digitcaps")
    assert isinstance(digitcaps, SharedCapsuleLayer) and digitcaps.count_params() == 32 * 10 * 16 * 8

    tested = invoke("test", "--weights", run / "trained_model.keras", "--data", tiny_npz)
    assert tested.exit_code == 0 and "test accuracy" in tested.output, tested.output
    np.save(tmp_path / "one.npy", np.load(tiny_npz)["x_test"][:1])
    predicted = invoke("predict", "--weights", run / "trained_model.keras", tmp_path / "one.npy", "--json")
    assert predicted.exit_code == 0 and len(json.loads(predicted.output)[0]["lengths"]) == 10

    again = invoke("train", "--epochs", "2", "--resume", *options)
    assert again.exit_code == 0, again.output
    assert len((run / "log.csv").read_text().splitlines()) == 3
    changed = invoke("train", "--epochs", "3", "--resume", "--class-capsules", "per-capsule", *options)
    assert_input_error(changed, "--class-capsules cannot change a saved model")


def test_training_on_from_a_shared_file_keeps_its_learning_rate(tmp_path, tiny_npz):
    first, second = tmp_path / "first", tmp_path / "second"
    options = ["--data", tiny_npz, "--batch-size", "10", "--seed", "2", "--epochs", "1"]
    assert invoke("train", "--class-capsules", "shared", *options, "--save-dir", first).exit_code == 0
    assert json.loads((first / "run.json").read_text())["options"]["lr"] == 1e-4
    result = invoke("train", "--weights", first / "trained_model.keras", *options, "--save-dir", second)
    assert result.exit_code == 0, result.output
    assert json.loads((second / "run.json").read_text())["options"]["lr"] == 1e-4


@pytest.mark.parametrize("model", ["efficient-capsnet", "cnn-baseline"])
def test_other_families_refuse_the_option(model, tmp_path, tiny_npz):
    result = invoke(
        "train", "--model", model, "--class-capsules", "shared", "--data", tiny_npz, "--save-dir", tmp_path
    )
    assert_input_error(result, "--class-capsules applies to --model capsnet only")
