"""Nothing lost: save folders checked first, one run per folder, checkpoints
committed with their state, corrupt files refused in one line, bench honest."""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from capsnet import save_dir as save_dirs
from capsnet import training
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # subprocesses or training runs


def train_args(tiny_npz, save_dir, *extra):
    return (
        "train",
        "--data",
        tiny_npz,
        "--epochs",
        "1",
        "--batch-size",
        "10",
        "--seed",
        "1",
        "--save-dir",
        save_dir,
        *extra,
    )


def copy_run(trained_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_dir, run)
    return run


def rewrite_entry(path, name, content):
    """Replace one entry of a zip archive (a .keras file)."""
    with zipfile.ZipFile(path) as archive:
        entries = {item: archive.read(item) for item in archive.namelist() if item != name}
    with zipfile.ZipFile(path, "w") as archive:
        for item, data in entries.items():
            archive.writestr(item, data)
        archive.writestr(name, content)


# --- save paths --------------------------------------------------------------


def test_save_dir_that_is_a_file(tmp_path, tiny_npz):
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert_input_error(invoke(*train_args(tiny_npz, target)), "is a file", "--save-dir")
    assert target.read_text() == "keep me"


def test_save_dir_whose_parent_is_a_file(tmp_path, tiny_npz):
    (tmp_path / "file").write_text("x")
    assert_input_error(invoke(*train_args(tiny_npz, tmp_path / "file" / "run")), "parent", "--save-dir")


def test_save_dir_not_writable(tmp_path, tiny_npz, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(save_dirs.tempfile, "NamedTemporaryFile", refuse)
    assert_input_error(invoke(*train_args(tiny_npz, tmp_path / "run")), "Permission denied", "--save-dir")


def test_full_disk_is_one_line_and_keeps_the_old_files(tmp_path, trained_dir, tiny_npz, monkeypatch):
    import capsnet.atomic

    run = copy_run(trained_dir, tmp_path)
    before = (run / "checkpoint.keras").read_bytes()

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(capsnet.atomic.os, "replace", full)
    result = invoke(*train_args(tiny_npz, run, "--epochs", "2", "--resume"))
    assert_input_error(result, "No space left on device")
    assert (run / "checkpoint.keras").read_bytes() == before
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]


# --- corrupt model files -----------------------------------------------------


def test_config_that_is_not_json(tmp_path, trained_dir):
    model = tmp_path / "m.keras"
    shutil.copy(trained_dir / "trained_model.keras", model)
    rewrite_entry(model, "config.json", b"{ this is not json")
    assert_input_error(invoke("info", "--weights", model), "not valid JSON")


def test_bad_crc(tmp_path, trained_dir):
    model = tmp_path / "m.keras"
    shutil.copy(trained_dir / "trained_model.keras", model)
    with zipfile.ZipFile(model) as archive:
        info = archive.getinfo("model.weights.h5")
    raw = bytearray(model.read_bytes())
    # Inside the stored h5 payload, past its local header: flip one byte.
    position = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[position] ^= 0xFF
    model.write_bytes(bytes(raw))
    assert_input_error(invoke("info", "--weights", model), "damaged")


def test_keras_model_that_is_not_a_capsnet(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "dense.keras")
    assert_input_error(invoke("info", "--weights", tmp_path / "dense.keras"), "not a CapsNet")


def test_empty_checkpoint_state(tmp_path, trained_dir, tiny_npz):
    run = copy_run(trained_dir, tmp_path)
    rewrite_entry(run / "checkpoint.keras", training.STATE_ENTRY, b"{}")
    assert_input_error(invoke(*train_args(tiny_npz, run, "--resume")), "invalid", "without --resume")


# --- checkpoint consistency --------------------------------------------------


def test_checkpoint_carries_its_state(trained_dir):
    with zipfile.ZipFile(trained_dir / "checkpoint.keras") as archive:
        state = json.loads(archive.read(training.STATE_ENTRY))
    # 30 images, batch 10: 3 optimizer steps in the one epoch
    assert state["epoch"] == 1 and state["optimizer_step"] == 3


def test_kill_before_the_state_file_does_not_repeat_an_epoch(tmp_path, trained_dir, tiny_npz):
    run = copy_run(trained_dir, tmp_path)
    # As if killed after checkpoint.keras was renamed but before checkpoint.json:
    (run / "checkpoint.json").write_text(json.dumps({"epoch": 0, "best_val_accuracy": None}))
    result = invoke(*train_args(tiny_npz, run, "--resume"))
    assert result.exit_code == 0, result.output
    assert "already finished 1 epochs" in result.output


def test_kill_during_the_final_save_is_repaired_on_resume(tmp_path, trained_dir, tiny_npz):
    run = copy_run(trained_dir, tmp_path)
    (run / "trained_model.keras").unlink()
    result = invoke(*train_args(tiny_npz, run, "--resume"))
    assert result.exit_code == 0, result.output
    assert (run / "trained_model.keras").is_file()
    assert invoke("info", "--weights", run / "trained_model.keras").exit_code == 0


def test_inconsistent_checkpoint_is_refused(tmp_path, trained_dir, tiny_npz):
    run = copy_run(trained_dir, tmp_path)
    state = {"epoch": 1, "optimizer_step": 7, "best_val_accuracy": 0.5}
    rewrite_entry(run / "checkpoint.keras", training.STATE_ENTRY, json.dumps(state))
    assert_input_error(invoke(*train_args(tiny_npz, run, "--resume")), "optimizer step 3", "says 7")


def test_stale_temporary_files_are_removed(tmp_path, trained_dir, tiny_npz):
    run = copy_run(trained_dir, tmp_path)
    stale = run / ".checkpoint.99999999.tmp.keras"
    stale.write_bytes(b"x" * 1000)
    assert invoke(*train_args(tiny_npz, run, "--resume")).exit_code == 0
    assert not stale.exists()


def test_a_diverging_batch_halts_the_epoch_unsaved():
    stop = training.GracefulStop()
    stop.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    stop.on_train_batch_end(0, {"loss": 0.5})
    assert not stop.halted
    with pytest.raises(training.Halt):  # leaves fit() at once
        stop.on_train_batch_end(1, {"loss": float("nan")})
    assert stop.diverged and stop.halted


# --- one run per folder ------------------------------------------------------


def test_second_run_in_the_same_folder_is_refused(tmp_path, tiny_npz):
    run = tmp_path / "run"
    run.mkdir()
    # pid 1 always runs: a live owner on this host
    (run / save_dirs.LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": 1}))
    assert_input_error(invoke(*train_args(tiny_npz, run)), "in use by another training run", "pid 1")
    assert not (run / "log.csv").exists()


def test_stale_lock_is_taken_over_and_released(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    lock = tmp_path / save_dirs.LOCK_NAME
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid}))
    with save_dirs.claim(tmp_path):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(CapsNetInputError, match="in use"):
            with save_dirs.claim(tmp_path):
                pass
    assert not lock.exists()


# --- bench -------------------------------------------------------------------


def test_bench_out_that_is_a_file_fails_before_any_work(tmp_path, monkeypatch):
    from capsnet.commands import bench

    monkeypatch.setattr(bench, "run_on_backend", lambda *a, **k: pytest.fail("bench started work"))
    (tmp_path / "file").write_text("x")
    assert_input_error(invoke("bench", "--out", tmp_path / "file"), "--out", "is a file")


def test_bench_fails_when_a_backend_fails(tmp_path, monkeypatch):
    from capsnet.commands import bench

    def crashed(backend, args, **options):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="RuntimeError: boom")

    monkeypatch.setattr(bench, "run_on_backend", crashed)
    result = invoke("bench", "--backends", keras.backend.backend(), "--out", tmp_path)
    assert result.exit_code == 1, result.output
    assert "boom" in result.output and "failed on" in result.output
    assert np.all([not p.name.startswith(".") for p in tmp_path.iterdir()])


def test_bench_whose_workers_all_refuse_their_input_is_an_input_error(tmp_path, monkeypatch):
    """A worker that exits 2 refused the options (say --image-size too small for the
    model): bench says so in one line with exit code 2, as the other commands do."""
    from capsnet.commands import bench

    def refused(backend, args, **options):
        message = "Error: CapsNet needs images of at least 17x17 pixels, got 8x8; use larger images"
        return subprocess.CompletedProcess(args, 2, stdout="", stderr=message)

    monkeypatch.setattr(bench, "run_on_backend", refused)
    result = invoke("bench", "--backends", keras.backend.backend(), "--image-size", "8x8", "--out", tmp_path)
    assert_input_error(result, "at least 17x17 pixels", "use larger images")


def test_each_saved_epoch_is_recorded_with_its_time(tmp_path, tiny_npz):
    """run.json is rewritten when an epoch is saved: that epoch's time must be in
    it already, or a run interrupted later loses it."""
    from capsnet import data as datasets
    from capsnet.models.capsnet.model import build_capsnet

    data = datasets.load("mnist", tiny_npz)
    models = build_capsnet(num_classes=10, routings=1)
    training.compile_for_training(models.train)
    times, times_at_save = [], []
    training.fit(
        models.train,
        data,
        tmp_path,
        epochs=2,
        batch_size=15,
        lr=1e-3,
        lr_decay=0.9,
        num_classes=10,
        epoch_times=times,
        on_epoch_saved=lambda epochs: times_at_save.append(len(times)),
        verbose=0,
    )
    assert times_at_save == [1, 2]


def test_ctrl_c_stops_at_once_without_validating_the_cut_epoch(tmp_path, monkeypatch):
    """The halted epoch is thrown away, so its validation pass (a minute on a real
    test set) must not run before training returns."""
    import signal

    import capsnet
    from capsnet import data
    from capsnet.data import batches

    sample = data.load("sample", subset=30)
    sample = sample._replace(x_test=sample.x_test[:7], y_test=sample.y_test[:7])
    validated = []

    class RecordingValidationReads(batches.Examples):
        def __getitem__(self, indices):
            if len(self) == 7:
                validated.append(indices)
            return super().__getitem__(indices)

    monkeypatch.setattr(training, "Examples", RecordingValidationReads)

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(training.keras.callbacks, "LearningRateScheduler", lambda schedule: CtrlC())
    models = capsnet.build_capsnet(routings=1)
    training.compile_for_training(models.train)
    with pytest.raises(KeyboardInterrupt):
        training.fit(
            models.train, sample, tmp_path, epochs=2, batch_size=10, lr=1e-3, lr_decay=0.9,
            num_classes=10, epoch_times=[], seed=1, verbose=0,
        )  # fmt: skip
    assert validated == []
    assert int(keras.ops.convert_to_numpy(models.train.optimizer.iterations)) == 2  # batches 0 and 1
    # The steps it did train are kept for --resume, in the epoch it stopped in.
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert (state["epoch"], state["step"], state["optimizer_step"]) == (0, 2, 2)
