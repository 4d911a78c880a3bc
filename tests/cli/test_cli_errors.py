"""Bad input: one line naming the problem and the fix, exit code 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import assert_input_error, invoke

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, **env):
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_unknown_backend_in_a_fresh_process():
    result = run_cli("--backend", "theano", "info")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: unknown backend 'theano'; choose one of jax, torch, tensorflow"
    ]
    result = run_cli("info", KERAS_BACKEND="mxnet")
    assert result.returncode == 2 and "unknown backend 'mxnet'" in result.stderr


def test_backend_not_installed(monkeypatch):
    from capsnet import backends

    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    line = assert_input_error(invoke("info"), "not installed", "pip install 'capsnet[")
    assert "Error:" in line


def test_missing_data(tmp_path):
    assert_input_error(
        invoke("train", "--data", tmp_path / "nope.npz", "--save-dir", tmp_path), "not found", "--data"
    )


def test_npz_with_wrong_keys(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((2, 28, 28)), labels=np.zeros(2))
    assert_input_error(invoke("train", "--data", path, "--save-dir", tmp_path), "x_train", "y_test")


def test_npz_with_wrong_shapes(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(
        path,
        x_train=np.zeros((4, 784), "uint8"),
        y_train=np.zeros(4, "uint8"),
        x_test=np.zeros((2, 28, 28), "uint8"),
        y_test=np.zeros(2, "uint8"),
    )
    assert_input_error(invoke("train", "--data", path, "--save-dir", tmp_path), "x_train", "(4, 784)")
    np.savez(
        path,
        x_train=np.zeros((4, 28, 28), "uint8"),
        y_train=np.zeros(3, "uint8"),
        x_test=np.zeros((2, 28, 28), "uint8"),
        y_test=np.zeros(2, "uint8"),
    )
    assert_input_error(invoke("train", "--data", path, "--save-dir", tmp_path), "4 images", "3 labels")


def test_corrupt_npz(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04 garbage")
    assert_input_error(invoke("train", "--data", path, "--save-dir", tmp_path), "not a readable .npz")


def test_incomplete_idx_folder(tmp_path):
    assert_input_error(
        invoke("train", "--data", tmp_path, "--save-dir", tmp_path / "r"), "train-images-idx3-ubyte", "IDX"
    )


def test_download_failure_says_how_to_supply_the_data(monkeypatch, tmp_path):
    import keras

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    assert_input_error(
        invoke("train", "--dataset", "mnist", "--save-dir", tmp_path),
        "could not download mnist",
        "--data PATH",
        "--dataset sample",
    )


def test_option_out_of_range(tmp_path):
    result = invoke("train", "--routings", "0", "--save-dir", tmp_path)
    assert result.exit_code == 2 and "routings" in result.output and "Traceback" not in result.output


def test_bench_unknown_backend():
    assert_input_error(invoke("bench", "--backends", "jax,theano"), "unknown backend 'theano'")
