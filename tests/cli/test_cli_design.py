"""Options are honoured or refused, never silently ignored; run records carry no machine paths."""

import json

import pytest

from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # subprocesses or training runs


@pytest.mark.parametrize(
    "option, value", [("--routings", "2"), ("--shift-pixels", "0"), ("--lam-recon", "0.1")]
)
def test_architecture_options_with_weights_are_refused(tmp_path, trained_dir, tiny_npz, option, value):
    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--weights",
        trained_dir / "trained_model.keras",
        "--epochs",
        "1",
        option,
        value,
        "--save-dir",
        tmp_path / "run",
    )
    assert_input_error(result, option, "--weights")
    assert not (tmp_path / "run").exists()


def test_architecture_options_with_resume_are_refused(tmp_path, trained_dir, tiny_npz):
    result = invoke("train", "--data", tiny_npz, "--resume", "--routings", "1", "--save-dir", trained_dir)
    assert_input_error(result, "--routings", "--resume")


def test_test_subset_evaluates_that_many_test_images(tmp_path, trained_dir, tiny_npz):
    result = invoke(
        "test",
        "--weights",
        trained_dir / "trained_model.keras",
        "--data",
        tiny_npz,
        "--subset",
        "7",
        "--save-dir",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "on 7 images" in result.output


def test_manipulate_has_no_subset_to_ignore(tmp_path, trained_dir, tiny_npz):
    result = invoke(
        "manipulate",
        "--weights",
        trained_dir / "trained_model.keras",
        "--data",
        tiny_npz,
        "--subset",
        "7",
        "--save-dir",
        tmp_path,
    )
    assert result.exit_code == 2 and "No such option" in result.output


def test_run_record_names_no_machine_path(trained_dir, tiny_npz):
    record = json.loads((trained_dir / "run.json").read_text())
    text = json.dumps(record["options"]) + record["command"]
    assert str(trained_dir) not in text and str(tiny_npz.parent) not in text
    assert record["options"]["data"] == tiny_npz.name
    assert record["command"].split()[0] == "capsnet"  # the console script, not a path to it
    assert record["precision"] == "float32" and record["tf32"] is False


def test_info_states_the_precision():
    result = invoke("info")
    assert result.exit_code == 0, result.output
    assert "precision: float32 (TF32 off" in result.output
