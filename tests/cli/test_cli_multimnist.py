"""`--dataset multimnist` through train, test, predict and --resume."""

import json

import numpy as np
import pytest

from capsnet import data, fast_ops
from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # training runs

SIZES = ("--epoch-size", "20", "--test-size", "12")


@pytest.fixture(scope="module")
def pairs_run(tmp_path_factory, tiny_npz):
    """One epoch of the two-digit CapsNet on 20 pairs of the tiny digits."""
    save_dir = tmp_path_factory.mktemp("pairs")
    with fast_ops.restored_afterwards():
        result = invoke(
            "train", "--dataset", "multimnist", "--data", tiny_npz, *SIZES,
            "--epochs", "1", "--batch-size", "10", "--seed", "2", "--save-dir", save_dir,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return save_dir


def test_training_records_pairs_and_no_in_model_shifts(pairs_run):
    record = json.loads((pairs_run / "run.json").read_text())
    assert (record["train_images"], record["test_images"]) == (20, 12)
    assert record["options"]["shift_pixels"] == 0 and record["options"]["dataset"] == "multimnist"
    assert "val_length_accuracy" in (pairs_run / "log.csv").read_text()


def test_test_prints_both_right_and_writes_figure_5(pairs_run, tiny_npz, tmp_path):
    result = invoke(
        "test", "--weights", pairs_run / "trained_model.keras", "--dataset", "multimnist",
        "--data", tiny_npz, *SIZES, "--save-dir", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "both digits right" in result.output and "at least one right" in result.output
    assert "on 12 pairs" in result.output
    assert (tmp_path / "multimnist.png").is_file()


def test_predict_names_two_classes(pairs_run, tiny_npz, tmp_path):
    pairs = data.load("multimnist", path=tiny_npz, generated={"test_size": 2})
    np.save(tmp_path / "pairs.npy", pairs.test_examples(10).inputs_only()[np.arange(2)][0])
    weights = pairs_run / "trained_model.keras"
    result = invoke("predict", "--weights", weights, tmp_path / "pairs.npy", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [len(row["classes"]) for row in rows] == [2, 2]
    assert all(row["classes"][0] == row["class"] != row["classes"][1] for row in rows)
    text = invoke("predict", "--weights", weights, tmp_path / "pairs.npy")
    assert "classes " in text.output and " and " in text.output


def test_resume_goes_on_with_the_pairs(pairs_run, tiny_npz):
    result = invoke(
        "train", "--dataset", "multimnist", "--data", tiny_npz, *SIZES,
        "--epochs", "2", "--batch-size", "10", "--seed", "2", "--save-dir", pairs_run, "--resume",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len((pairs_run / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_shifts_in_the_model_are_refused(tiny_npz, tmp_path):
    result = invoke(
        "train", "--dataset", "multimnist", "--data", tiny_npz, "--shift-pixels", "2", "--save-dir", tmp_path
    )
    assert_input_error(result, "--shift-pixels 2", "leave --shift-pixels out")


def test_single_digit_models_and_pairs_do_not_mix(trained_dir, pairs_run, tiny_npz, tmp_path):
    import capsnet
    from capsnet.model_files import atomic_save

    single = tmp_path / "single_36.keras"  # one digit per image, of the pairs' size
    atomic_save(capsnet.build_capsnet((36, 36, 1)).train, single)
    result = invoke(
        "train", "--dataset", "multimnist", "--data", tiny_npz, "--weights", single, "--save-dir", tmp_path
    )
    assert_input_error(result, "1 digit(s) per image", "has 2")
    result = invoke("test", "--weights", single, "--dataset", "multimnist", "--data", tiny_npz, *SIZES)
    assert_input_error(result, "1 digit(s) per image", "has 2")
    result = invoke("test", "--weights", trained_dir / "trained_model.keras", "--dataset", "multimnist",
                    "--data", tiny_npz, *SIZES)  # fmt: skip
    assert_input_error(result, "(28, 28, 1)", "(36, 36, 1)")
