import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from capsnet.model_files import load_capsnet
from capsnet.training import load_for_resume
from tests.helpers import invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # subprocesses or training runs

ROOT = Path(__file__).resolve().parents[2]


def epochs_in_log(save_dir):
    with open(save_dir / "log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_train_writes_every_file(trained_dir):
    for name in (
        "trained_model.keras",
        "best_model.keras",
        "checkpoint.keras",
        "checkpoint.json",
        "log.csv",
        "log.png",
        "run.json",
    ):
        assert (trained_dir / name).is_file(), name
    run = json.loads((trained_dir / "run.json").read_text())
    assert run["backend"] == keras.backend.backend()
    assert "keras" in run["versions"] and run["devices"]
    assert len(run["epoch_times_s"]) == 1 and run["epoch_times_s"][0] > 0
    assert run["options"]["epochs"] == 1 and run["train_images"] == 30
    assert epochs_in_log(trained_dir) == [0]
    models = load_capsnet(trained_dir / "trained_model.keras")
    assert models.train.count_params() == 8_215_568


def test_run_folder_holds_no_copies_and_no_optimizer_state_but_in_the_checkpoint(trained_dir):
    import zipfile

    def has_optimizer(path):
        with zipfile.ZipFile(path) as archive:
            weights = archive.read("model.weights.h5")
        return b"optimizer" in weights

    final, best = trained_dir / "trained_model.keras", trained_dir / "best_model.keras"
    checkpoint = trained_dir / "checkpoint.keras"
    assert has_optimizer(checkpoint) and not has_optimizer(final)
    assert final.stat().st_size < checkpoint.stat().st_size / 2  # Adam's two moments left out
    assert best.samefile(final)  # one epoch, the best: one file under two names
    classifier = load_capsnet(trained_dir / "classifier.keras")
    assert classifier.manipulate is None and classifier.train.count_params() == 6_804_224


def test_resume_continues_at_epoch_two_with_optimizer_state(tmp_path, tiny_npz):
    args = ["train", "--data", tiny_npz, "--batch-size", "10", "--seed", "2", "--save-dir", tmp_path]
    assert invoke(*args, "--epochs", "1", "--routings", "2", "--shift-pixels", "1").exit_code == 0
    first = load_for_resume(tmp_path / "checkpoint.keras").train.optimizer
    assert int(first.iterations) == 3  # 30 images / batch 10

    result = invoke(*args, "--epochs", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert "epochs 2-2" in result.output
    assert epochs_in_log(tmp_path) == [0, 1]
    # Iterations continue from the saved optimizer (a fresh one would be at 3).
    resumed = load_for_resume(tmp_path / "checkpoint.keras").train.optimizer
    assert int(resumed.iterations) == 6
    run = json.loads((tmp_path / "run.json").read_text())
    assert len(run["epoch_times_s"]) == 2
    # The saved model's architecture, not the command line's defaults (3 and 2).
    assert (run["options"]["routings"], run["options"]["shift_pixels"]) == (2, 1)


def test_resume_keeps_the_interrupted_runs_learning_rate_schedule(tmp_path, tiny_npz):
    args = ["train", "--data", tiny_npz, "--seed", "2", "--save-dir", tmp_path]
    first = invoke(*args, "--epochs", "1", "--lr", "1e-4", "--lr-decay", "0.5", "--batch-size", "15")
    assert first.exit_code == 0, first.output
    result = invoke(*args, "--epochs", "2", "--resume")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "log.csv") as log:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(log)]
    np.testing.assert_allclose(rates, [1e-4, 0.5e-4], rtol=1e-6)  # not the recipe's 1e-3 x 0.9
    options = json.loads((tmp_path / "run.json").read_text())["options"]
    assert (options["lr"], options["lr_decay"], options["batch_size"]) == (1e-4, 0.5, 15)
    # What the command line gives still wins.
    later = invoke(*args, "--epochs", "3", "--resume", "--lr", "1e-5")
    assert later.exit_code == 0, later.output
    assert json.loads((tmp_path / "run.json").read_text())["options"]["lr"] == 1e-5


def test_the_same_command_with_resume_continues(tmp_path, tiny_npz):
    # The documented way to continue: repeat the command and add --resume. Options that
    # restate what the saved model already is are not a change; a different value still is.
    args = ["train", "--model", "capsnet", "--routings", "2", "--data", tiny_npz, "--batch-size", "10",
            "--seed", "2", "--save-dir", tmp_path]  # fmt: skip
    assert invoke(*args, "--epochs", "1").exit_code == 0
    result = invoke(*args, "--epochs", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert epochs_in_log(tmp_path) == [0, 1]
    from tests.helpers import assert_input_error

    assert_input_error(invoke(*args, "--epochs", "3", "--resume", "--routings", "3"), "--routings")
    other = invoke(*args, "--epochs", "3", "--resume", "--model", "efficient-capsnet")
    assert_input_error(other, "--model cannot change a saved model")


def test_resume_without_checkpoint_is_an_input_error(tmp_path, tiny_npz):
    from tests.helpers import assert_input_error

    result = invoke("train", "--data", tiny_npz, "--resume", "--save-dir", tmp_path)
    assert_input_error(result, "nothing to resume")


def test_interrupted_run_leaves_a_loadable_checkpoint_and_resumes(tmp_path, tiny_npz):
    """A real Ctrl-C (SIGINT) in a subprocess after the first epoch's checkpoint."""
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "--backend",
        keras.backend.backend(),
        "train",
        "--data",
        str(tiny_npz),
        "--batch-size",
        "10",
        "--epochs",
        "50",
        "--seed",
        "3",
        "--save-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.time() + 300
    while not (tmp_path / "checkpoint.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert 1 <= state["epoch"] < 50
    models = load_for_resume(tmp_path / "checkpoint.keras")
    # the finished epochs' steps, and those of the next that the stop saved
    assert int(models.train.optimizer.iterations) == 3 * state["epoch"] + state["step"]
    assert not list(tmp_path.glob(".*tmp*"))

    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--batch-size",
        "10",
        "--epochs",
        state["epoch"] + 1,
        "--save-dir",
        tmp_path,
        "--resume",
    )
    assert result.exit_code == 0, result.output
    assert f"epochs {state['epoch'] + 1}-{state['epoch'] + 1}" in result.output
    assert epochs_in_log(tmp_path)[-1] == state["epoch"]


def test_train_from_weights_and_other_options(tmp_path, trained_dir, tiny_npz):
    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--batch-size",
        "16",
        "--epochs",
        "1",
        "--weights",
        trained_dir / "trained_model.keras",
        "--subset",
        "16",
        "--lr",
        "0.0005",
        "--save-dir",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["train_images"] == 16


def test_routings_and_lam_recon_reach_the_model(tmp_path, tiny_npz):
    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--batch-size",
        "10",
        "--epochs",
        "1",
        "--subset",
        "10",
        "--routings",
        "1",
        "--lam-recon",
        "0",
        "--save-dir",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    train = load_capsnet(tmp_path / "trained_model.keras").train
    assert train.get_layer("digitcaps").routings == 1
    assert train.get_layer("reconstruction").lam_recon == 0.0
    assert np.isfinite(json.loads((tmp_path / "run.json").read_text())["final"]["loss"])
