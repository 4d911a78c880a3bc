"""--distribute data-parallel: 2 devices give what 1 device gives on the same global batch.

Two devices: two host devices (jax), two logical CPUs (tensorflow), two
processes started by torchrun on gloo (torch; more in tests/training/test_torch_ddp.py).
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from capsnet.model_files import load_capsnet
from tests.helpers import assert_input_error, invoke

pytestmark = pytest.mark.slow  # subprocesses or training runs

ROOT = Path(__file__).resolve().parents[2]
BACKEND = keras.backend.backend()
# 20 images in one global batch of 20, 2 epochs: 2 steps, no shuffling effects.
ARGS = ["--subset", "20", "--batch-size", "20", "--epochs", "2", "--shift-pixels", "0", "--seed", "0"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def two_device_run(tiny_npz, save_dir):
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "PYTHONPATH": str(ROOT)}
    if BACKEND == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
        command = [sys.executable, str(ROOT / "cli.py")]
    elif BACKEND == "torch":  # two processes on gloo, as torchrun starts them
        command = [*TORCHRUN, str(ROOT / "cli.py")]
    else:
        command = [sys.executable, str(ROOT / "tests" / "tensorflow_two_cpus.py")]
    command += [
        "--backend",
        BACKEND,
        "train",
        "--data",
        str(tiny_npz),
        *ARGS,
        "--distribute",
        "data-parallel",
        "--save-dir",
        str(save_dir),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("2 replica(s)") == 1  # torch: from the chief (rank 0) only


def losses(save_dir):
    with open(save_dir / "log.csv") as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def test_two_devices_equal_one(tmp_path, tiny_npz):
    two_device_run(tiny_npz, tmp_path / "two")
    result = invoke("train", "--data", tiny_npz, *ARGS, "--save-dir", tmp_path / "one")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(losses(tmp_path / "two"), losses(tmp_path / "one"), rtol=1e-5)
    one = load_capsnet(tmp_path / "one" / "trained_model.keras").train.weights
    two = load_capsnet(tmp_path / "two" / "trained_model.keras").train.weights
    for a, b in zip(one, two, strict=True):
        a, b = ops.convert_to_numpy(a), ops.convert_to_numpy(b)
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(a), a.shape


@pytest.mark.skipif(BACKEND != "torch", reason="torch runs one process per replica")
def test_torch_says_how_to_start_the_processes(tmp_path, tiny_npz, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    result = invoke("train", "--data", tiny_npz, "--distribute", "data-parallel", "--save-dir", tmp_path)
    assert_input_error(result, "torchrun --nproc-per-node N cli.py --backend torch train")


@pytest.mark.skipif(BACKEND != "torch", reason="torch runs one process per replica")
def test_torch_hosts_are_joined_by_torchrun(tmp_path, tiny_npz):
    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--distribute",
        "data-parallel",
        *["--coordinator-address", "10.0.0.1:1234", "--num-processes", "2", "--process-id", "0"],
        "--save-dir",
        tmp_path,
    )
    assert_input_error(result, "torchrun --nnodes", "--rdzv-endpoint")


def test_multi_host_needs_all_three_options(tmp_path, tiny_npz):
    result = invoke(
        "train",
        "--data",
        tiny_npz,
        "--distribute",
        "data-parallel",
        "--coordinator-address",
        "10.0.0.1:1234",
        "--save-dir",
        tmp_path,
    )
    assert_input_error(result, "--num-processes", "--process-id")
