"""Data parallel on torch: processes started by torchrun on gloo (backends/torch_ddp.py).

tests/training/test_distribute.py checks that 2 processes train as 1 does on the same
global batch; these check the rest: shards, seeds and logs, a batch that does
not split, and Ctrl-C with a resume afterwards.
"""

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

from capsnet import training
from tests.helpers import saved_weights

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="torchrun runs torch"),
]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
ENV = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
RESUME_ARGS = ["--subset", "20", "--batch-size", "20", "--seed", "0"]
ARGS = [*RESUME_ARGS, "--shift-pixels", "0"]


def train_command(tiny_npz, save_dir, *options):
    return [
        *TORCHRUN,
        str(ROOT / "cli.py"),
        *["--backend", "torch", "train", "--data", str(tiny_npz), "--distribute", "data-parallel"],
        *["--save-dir", str(save_dir), *options],
    ]


def ctrl_c_after_first_checkpoint(command, save_dir, none_yet):
    """Start `command`, send SIGINT once `save_dir` has a checkpoint (torchrun passes
    it on to each process), and return the run's stderr; `none_yet`: the failure
    message when none came."""
    run = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (save_dir / "checkpoint.json").exists():
            assert run.poll() is None and time.monotonic() < deadline, none_yet
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        return run.communicate(timeout=120)[1]
    finally:
        run.kill()


def test_shards_seeds_gradients_and_logs_across_two_processes():
    done = subprocess.run(
        [*TORCHRUN, str(ROOT / "tests" / "torch_ddp_worker.py")],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0: ok" in done.stdout and "rank 1: ok" in done.stdout


def test_a_batch_that_does_not_split_stops_every_process(tmp_path, tiny_npz):
    save_dir = tmp_path / "run"
    command = train_command(tiny_npz, save_dir, "--subset", "20", "--batch-size", "15")
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    error = "Error: --batch-size 15 does not split over 2 replicas; use a multiple of 2"
    assert done.stderr.count(error) == 2, done.stderr[-3000:]  # each process's one line, exit 2
    assert "exitcode  : 2" in done.stderr
    assert not save_dir.exists()


def test_ctrl_c_stops_every_process_and_the_run_resumes(tmp_path, tiny_npz):
    save_dir = tmp_path / "run"
    stderr = ctrl_c_after_first_checkpoint(
        train_command(tiny_npz, save_dir, *ARGS, "--epochs", "100"), save_dir, "no epoch finished"
    )
    assert "interrupted;" in stderr and "--resume" in stderr, stderr[-3000:]
    assert stderr.count("interrupted;") == 1  # from the chief only
    assert not (save_dir / ".capsnet.lock").exists()
    done = training.read_checkpoint_state(save_dir)["epoch"]
    assert 1 <= done < 100

    resumed = subprocess.run(
        train_command(tiny_npz, save_dir, *RESUME_ARGS, "--epochs", str(done + 1), "--resume"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"epochs {done + 1}-{done + 1}" in resumed.stdout
    with open(save_dir / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == list(range(done + 1))  # one row per epoch
    assert float(rows[-1]["learning_rate"]) == pytest.approx(1e-3 * 0.9**done, rel=1e-6)
    state = training.read_checkpoint_state(save_dir)
    assert state["epoch"] == state["optimizer_step"] == done + 1  # one global step per epoch
    record = json.loads((save_dir / "run.json").read_text())
    assert record["replicas"] == 2 and len(record["epoch_times_s"]) == done + 1


def test_a_run_stopped_inside_an_epoch_resumes_at_its_step_with_the_uninterrupted_weights(tmp_path, tiny_npz):
    """15 global steps of 2 images: Ctrl-C after the first checkpoint inside the
    epoch, resume, and the weights are those of the run never stopped (each
    process's shift generator goes on from where it was)."""
    inside = ["--batch-size", "2", "--epochs", "1", "--seed", "0", "--checkpoint-every", "1"]
    whole = subprocess.run(
        train_command(tiny_npz, tmp_path / "whole", *inside),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr[-3000:]

    cut = tmp_path / "cut"
    stderr = ctrl_c_after_first_checkpoint(
        train_command(tiny_npz, cut, *inside), cut, "no checkpoint inside the epoch"
    )
    state = training.read_checkpoint_state(cut)
    assert state["epoch"] == 0 and 0 < state["step"] < 15, (state, stderr[-3000:])

    resumed = subprocess.run(
        train_command(tiny_npz, cut, *inside, "--resume"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"epochs 1-1 from step {state['step'] + 1}" in resumed.stdout  # counted from 1
    assert training.read_checkpoint_state(cut)["optimizer_step"] == 15
    with open(cut / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0"]
    for mine, theirs in zip(
        saved_weights(cut / "trained_model.keras"),
        saved_weights(tmp_path / "whole" / "trained_model.keras"),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
