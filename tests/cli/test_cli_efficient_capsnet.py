"""`train --model efficient-capsnet` and the commands that use its models."""

import json

import pytest

from capsnet.model_files import load_capsnet
from capsnet.training import load_for_resume
from tests.helpers import assert_input_error, invoke

# subprocesses or training runs; the home by hand, to even out the suites (tests/rotation.py)
pytestmark = [pytest.mark.slow, pytest.mark.one_backend("torch")]


def train_args(data, save_dir, *extra):
    return [
        "train",
        "--model",
        "efficient-capsnet",
        "--data",
        data,
        "--seed",
        "3",
        "--save-dir",
        save_dir,
        *extra,
    ]


def test_trains_with_its_papers_recipe_and_every_command_takes_it(tmp_path, tiny_npz):
    run = tmp_path / "run"
    result = invoke(*train_args(tiny_npz, run, "--epochs", "1"))
    assert result.exit_code == 0, result.output
    options = json.loads((run / "run.json").read_text())["options"]
    assert (options["model"], options["batch_size"], options["lr"], options["lr_decay"]) == (
        "efficient-capsnet",
        16,
        5e-4,
        0.97,
    )
    model = run / "trained_model.keras"
    layers = {type(layer).__name__ for layer in load_capsnet(model).train.layers}
    assert {"DepthwisePrimaryCapsule", "SelfAttentionCapsuleLayer"} <= layers

    # Resuming keeps the model's own recipe (batch 16: 30 images make 2 steps an epoch).
    resumed = invoke("train", "--data", tiny_npz, "--epochs", "2", "--resume", "--save-dir", run)
    assert resumed.exit_code == 0, resumed.output
    assert int(load_for_resume(run / "checkpoint.keras").train.optimizer.iterations) == 4

    tested = invoke("test", "--weights", model, "--data", tiny_npz, "--save-dir", tmp_path / "test")
    assert tested.exit_code == 0 and "test accuracy" in tested.output, tested.output
    manipulated = invoke("manipulate", "--weights", model, "--data", tiny_npz, "--save-dir", tmp_path / "m")
    assert manipulated.exit_code == 0, manipulated.output
    described = invoke("info", "--weights", model)
    assert described.exit_code == 0 and "model: efficient-capsnet" in described.output


def test_a_wider_primary_layer_trains_is_recorded_and_stays_on_resume(tmp_path, tiny_npz):
    run = tmp_path / "run"
    wide = ("--primary-kernel-size", "5", "--primary-strides", "2")
    result = invoke(*train_args(tiny_npz, run, "--epochs", "1", *wide))
    assert result.exit_code == 0, result.output
    options = json.loads((run / "run.json").read_text())["options"]
    assert (options["primary_kernel_size"], options["primary_strides"]) == (5, 2)
    assert load_capsnet(run / "trained_model.keras").train.get_layer("primarycaps").output.shape[1] == 144

    changed = invoke(*train_args(tiny_npz, run, "--epochs", "2", "--resume", "--primary-kernel-size", "3"))
    assert_input_error(changed, "--primary-kernel-size cannot change a saved model")
    too_large = invoke(*train_args(tiny_npz, tmp_path / "new", "--primary-kernel-size", "10"))
    assert_input_error(too_large, "--primary-kernel-size 10 does not fit the 9x9 grid")
    capsnet = invoke("train", "--primary-strides", "2", "--data", tiny_npz, "--save-dir", tmp_path / "c")
    assert_input_error(capsnet, "--primary-strides applies to --model efficient-capsnet only")


def test_routings_do_not_apply(tmp_path, tiny_npz):
    result = invoke(*train_args(tiny_npz, tmp_path, "--routings", "3"))
    assert_input_error(result, "--routings", "efficient-capsnet")


def test_model_cannot_change_a_saved_model(trained_dir, tiny_npz, tmp_path):
    weights = trained_dir / "trained_model.keras"
    result = invoke(*train_args(tiny_npz, tmp_path, "--weights", weights))
    assert_input_error(result, "--model cannot change a saved model")
