"""A run killed at random moments and resumed each time ends as the run that
was never stopped: the same weights, the same Adam state, one log row per epoch
with the same numbers (checkpoints inside epochs, `capsnet.exact_resume`)."""

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from capsnet import exact_resume, training
from capsnet.data.examples import Examples
from tests.helpers import cli_command, invoke, saved_weights

ROOT = Path(__file__).resolve().parents[2]
# 30 training images in batches of 10: 3 steps an epoch, 9 in the run; shifts on,
# (by default, 2 pixels), so the random generators' states matter too.
RUN = ("--batch-size", "10", "--epochs", "3", "--seed", "5")


def _train_command(save_dir, tiny_npz, *extra):
    return cli_command("train", "--data", tiny_npz, *RUN, "--save-dir", save_dir, *extra)


def _train_in_own_process(save_dir, tiny_npz, *extra):
    return subprocess.run(
        _train_command(save_dir, tiny_npz, *extra),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _state(save_dir):
    try:
        return json.loads((save_dir / "checkpoint.json").read_text())
    except (OSError, ValueError):
        return None


def _kill_after_next_checkpoint(save_dir, tiny_npz, rng, resume):
    """Start the run, wait for a checkpoint newer than the current one, then kill -9
    it at a random moment up to 1.5 s later (often inside the next save)."""
    before = _state(save_dir)
    # --restarts 0: the training process itself is killed, not a supervisor above it.
    extra = ("--checkpoint-every", "1", "--restarts", "0") + (("--resume",) if resume else ())
    process = subprocess.Popen(
        _train_command(save_dir, tiny_npz, *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 300
        while _state(save_dir) in (None, before):
            if process.poll() is not None:
                return process.returncode, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no new checkpoint"
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return process.returncode, process.stderr.read().decode()
    finally:
        process.kill()


def _log(save_dir):
    with open(save_dir / "log.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_ends_as_the_uninterrupted_run(tmp_path, tiny_npz):
    # Every run in a fresh process, the uninterrupted one too: what earlier tests
    # left in this process (compiled programs, settings) cannot tell them apart.
    whole = tmp_path / "whole"
    done = _train_in_own_process(whole, tiny_npz)
    assert done.returncode == 0, done.stderr[-3000:]

    cut = tmp_path / "cut"
    rng = np.random.default_rng(7)
    kills = 0
    for attempt in range(2):  # each attempt a fresh process: CI time bounds their number
        code, stderr = _kill_after_next_checkpoint(cut, tiny_npz, rng, resume=attempt > 0)
        if code == 0:
            break  # it finished before the kill
        assert code == -signal.SIGKILL, stderr[-3000:]
        kills += 1
    assert kills >= 2
    state = training.read_checkpoint_state(cut)
    if (cut / "trained_model.keras").is_file() and state["epoch"] == 3:
        pass  # the last kill came after the end
    else:
        resumed = _train_in_own_process(cut, tiny_npz, "--resume")
        assert resumed.returncode == 0, resumed.stderr[-3000:]

    assert [row["epoch"] for row in _log(cut)] == ["0", "1", "2"]  # every epoch once
    for mine, theirs in zip(_log(cut), _log(whole), strict=True):
        for name in mine:
            assert float(mine[name]) == float(theirs[name]), name
    resumed = training.load_for_resume(cut / "checkpoint.keras").train
    assert int(resumed.optimizer.iterations) == 9
    for mine, theirs in zip(
        saved_weights(cut / "trained_model.keras"), saved_weights(whole / "trained_model.keras"), strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="the kill test covers every backend end to end; this one, on one, names the piece that broke",
)
def test_a_checkpoint_inside_an_epoch_carries_where_it_stopped(tmp_path, tiny_npz):
    """--checkpoint-every 2 over 3-step epochs: step 2 of an epoch is saved,
    and a resume from it starts at step 3 with the epoch's metric sums."""
    result = invoke(
        "train", "--data", tiny_npz, "--batch-size", "10", "--epochs", "1", "--seed", "5",
        "--checkpoint-every", "2", "--save-dir", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    state = training.read_checkpoint_state(tmp_path)
    assert (state["epoch"], state["step"], state["metrics"]) == (1, 0, None)  # the epoch's own, last

    # The same run cut after step 2: Ctrl-C as the checkpoint of step 2 is written.
    cut = tmp_path / "cut"
    stop_at = {"step": 2}

    def interrupt_after_saving(save):
        def wrapped(self, **where):
            save(self, **where)
            if where["step"] == stop_at["step"]:
                self.stop.requested = True

        return wrapped

    original = training.SafeCheckpoint._save
    training.SafeCheckpoint._save = interrupt_after_saving(original)
    try:
        result = invoke(
            "train", "--data", tiny_npz, "--batch-size", "10", "--epochs", "1", "--seed", "5",
            "--checkpoint-every", "2", "--save-dir", cut,
        )  # fmt: skip
    finally:
        training.SafeCheckpoint._save = original
    assert result.exit_code == 130, result.output
    state = training.read_checkpoint_state(cut)
    assert (state["epoch"], state["step"], state["optimizer_step"]) == (0, 2, 2)
    assert "and 2 step(s) of the next" in result.output
    assert len(state["metrics"]) == 4  # the loss's and the accuracy's sum and count
    assert len(state["seeds"]) == 1  # the random shift's generator

    result = invoke(
        "train", "--data", tiny_npz, "--batch-size", "10", "--epochs", "1", "--seed", "5",
        "--save-dir", cut, "--resume",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "epochs 1-1 from step 3" in result.output
    assert training.read_checkpoint_state(cut)["optimizer_step"] == 3
    (whole,), (resumed,) = _log(tmp_path), _log(cut)
    for name in whole:
        assert float(resumed[name]) == pytest.approx(float(whole[name]), rel=1e-5, abs=1e-7), name


def test_seed_states_survive_a_save_that_keras_does_not_keep(tmp_path):
    """Keras's .keras file leaves the SeedGenerator's state out; the checkpoint's
    JSON state puts it back."""
    from capsnet.layers.random_shift import RandomShift

    inputs = keras.Input((8, 8, 1))
    shift = RandomShift(2, seed=3)
    model = keras.Model(inputs, shift(inputs))
    for _ in range(3):
        shift(np.ones((2, 8, 8, 1), "float32"), training=True)
    states = exact_resume.seed_states(model)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    exact_resume.restore_seed_states(reloaded, json.loads(json.dumps(states)))
    assert exact_resume.seed_states(reloaded) == states
    draws = [
        keras.ops.convert_to_numpy(m.layers[1](np.ones((4, 8, 8, 1), "float32"), training=True))
        for m in (model, reloaded)
    ]
    np.testing.assert_array_equal(*draws)


class _Recorded(Examples):
    """Examples whose images are their own indices, recording each batch fetched."""

    def __init__(self, count, fetched):
        super().__init__(np.arange(count, dtype="float32").reshape(count, 1), np.zeros(count, int), 1)
        self.fetched = fetched

    def __getitem__(self, indices):
        self.fetched.append(np.asarray(self.images[indices]).ravel().astype(int).tolist())
        (x, y), _ = super().__getitem__(indices)
        return x, y


class _EpochMarks(keras.callbacks.Callback):
    def __init__(self, fetched, epochs):
        super().__init__()
        self.fetched, self.epochs = fetched, epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.start = len(self.fetched)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[epoch] = self.fetched[self.start :]


@pytest.mark.parametrize("initial_epoch, skip", [(0, 0), (2, 0), (1, 2)])
def test_fit_visits_each_epoch_in_the_order_of_seed_and_epoch(initial_epoch, skip):
    """What Keras fetches in epoch e is epoch e's order, however often Keras calls
    the dataset's on_epoch_end (it calls it before the first epoch too), and a
    run resumed at (epoch, step) fetches the rest of that order."""
    fetched, epochs = [], {}
    arguments = training.OneProcess().fit_arguments(
        _Recorded(23, fetched), _Recorded(4, []), 5, 3, initial_epoch, skip
    )
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    end = initial_epoch + 1 if skip else 4
    callbacks = [*arguments.pop("callbacks"), _EpochMarks(fetched, epochs)]
    model.fit(**arguments, epochs=end, initial_epoch=initial_epoch, callbacks=callbacks, verbose=0)
    for epoch in range(initial_epoch, end):
        order = np.random.default_rng([3, epoch]).permutation(23).tolist()
        expected = [order[i : i + 5] for i in range(0, 23, 5)][skip if epoch == initial_epoch else 0 :]
        assert epochs[epoch] == expected, epoch


@pytest.mark.slow
@pytest.mark.one_backend
def test_a_stop_inside_an_epoch_checkpoints_the_step_it_stopped_at(tmp_path, tiny_npz, monkeypatch):
    """Ctrl-C or SIGTERM after step 1 of 3, with no checkpoint due by time or
    steps: the stop itself saves step 1, so the resumed run loses nothing."""
    run = ("--data", tiny_npz, "--batch-size", "10", "--epochs", "1", "--seed", "5")
    run += ("--checkpoint-minutes", "0")
    assert invoke("train", *run, "--save-dir", tmp_path / "whole").exit_code == 0

    requested_at = training.GracefulStop.on_train_batch_end

    def signal_after_step_1(self, batch, logs=None):
        self.requested = self.requested or batch == 0  # as the signal handler sets it
        requested_at(self, batch, logs)

    cut = tmp_path / "cut"
    with monkeypatch.context() as patch:
        patch.setattr(training.GracefulStop, "on_train_batch_end", signal_after_step_1)
        result = invoke("train", *run, "--save-dir", cut)
    assert result.exit_code == 130, result.output
    assert "and 1 step(s) of the next" in result.output
    state = training.read_checkpoint_state(cut)
    assert (state["epoch"], state["step"], state["optimizer_step"]) == (0, 1, 1)

    result = invoke("train", *run, "--save-dir", cut, "--resume")
    assert result.exit_code == 0, result.output
    assert "epochs 1-1 from step 2" in result.output
    (whole,), (resumed,) = _log(tmp_path / "whole"), _log(cut)
    for name in whole:
        assert float(resumed[name]) == pytest.approx(float(whole[name]), rel=1e-5, abs=1e-7), name
    for mine, theirs in zip(
        saved_weights(cut / "trained_model.keras"),
        saved_weights(tmp_path / "whole" / "trained_model.keras"),
        strict=True,
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)
