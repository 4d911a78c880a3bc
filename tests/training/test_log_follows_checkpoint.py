"""log.csv lists every epoch that checkpoint.keras holds, once, however a run stops."""

import csv
import os
import signal

import pytest

from capsnet import training
from tests.helpers import invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # training runs


def logged_epochs(save_dir):
    with open(save_dir / "log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def train(tiny_npz, save_dir, epochs, *extra):
    return invoke(
        "train", "--data", tiny_npz, "--epochs", epochs, "--batch-size", "10", "--seed", "1",
        "--save-dir", save_dir, *extra,
    )  # fmt: skip


def test_a_signal_while_the_checkpoint_is_written_keeps_the_epochs_row_and_resume_mends_the_log(
    tmp_path, tiny_npz, monkeypatch
):
    """Ctrl-C arrives while epoch 1's checkpoint is written: the checkpoint holds that
    epoch, so the log lists it too. Then a kill -9 between the checkpoint's rename and
    the log's (the row lost): --resume rewrites log.csv from the rows the checkpoint
    carries."""
    save = training.save_checkpoint

    def save_then_interrupt(model, path, state):
        save(model, path, state)
        if state["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(training, "save_checkpoint", save_then_interrupt)
    result = train(tiny_npz, tmp_path, 3)
    assert result.exit_code == 130, result.output
    assert training.read_checkpoint_state(tmp_path)["epoch"] == 1
    assert logged_epochs(tmp_path) == [0]

    log = tmp_path / "log.csv"
    log.write_text(log.read_text().splitlines(keepends=True)[0])  # epoch 0's row lost
    monkeypatch.setattr(training, "save_checkpoint", save)
    assert train(tiny_npz, tmp_path, 2, "--resume").exit_code == 0
    assert logged_epochs(tmp_path) == [0, 1]


def test_a_signal_after_an_epochs_last_step_saves_and_logs_that_epoch(tmp_path, tiny_npz, monkeypatch):
    """Ctrl-C arrives after epoch 0's last step, while it validates: epoch 0 is whole,
    so it is checkpointed and logged, and the run stops before epoch 1 begins (it
    used to run one step of epoch 1 and checkpoint it, its log without epoch 0)."""
    from capsnet import epoch_timer

    class InterruptedAtEpochEnd(epoch_timer.EpochTimer):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                os.kill(os.getpid(), signal.SIGINT)
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(training, "EpochTimer", InterruptedAtEpochEnd)
    result = train(tiny_npz, tmp_path, 3)
    assert result.exit_code == 130, result.output
    state = training.read_checkpoint_state(tmp_path)
    assert (state["epoch"], state["step"]) == (1, 0)
    assert [row["epoch"] for row in state["log"]] == logged_epochs(tmp_path) == [0]

    monkeypatch.setattr(training, "EpochTimer", epoch_timer.EpochTimer)
    assert train(tiny_npz, tmp_path, 3, "--resume").exit_code == 0
    assert logged_epochs(tmp_path) == [0, 1, 2]
