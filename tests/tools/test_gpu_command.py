"""The GPU run (`python -m tools.gpu_run`, docs/gpu-runs.md) on a CPU: its smoke mode
runs every part, so the prepared command cannot rot between GPU sessions."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from tools import gpu_run
from tools.gpu import device, prepare, summary
from tools.gpu.context import REPO, Supervised, run_until, wait_all

pytestmark = pytest.mark.slow  # subprocesses or training runs


def _gpu_run(*args, timeout=900):
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    return subprocess.run(
        [sys.executable, "-m", "tools.gpu_run", *map(str, args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="once per suite is enough for the orchestration: under torch (the GPU machine has no TensorFlow, "
    "and every capsnet command it calls is tested on every backend elsewhere)",
)
def test_smoke_runs_every_part_and_a_second_run_skips_what_is_done(tmp_path):
    backend = keras.backend.backend()
    out, work, archive = tmp_path / "gpu-cpu", tmp_path / "work", tmp_path / "gpu.tar.gz"
    options = ["--smoke", "--backends", backend, "--out", out, "--work", work, "--archive", archive]
    try:
        first = _gpu_run("all", *options)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "fashion done" in first.stdout and "Traceback" not in first.stderr
        assert f"\nbackend: {backend}\n" in "\n" + (out / f"info-{backend}.txt").read_text()
        rows = json.loads((out / "bench-summary.json").read_text())
        assert [(r["backend"], r["batch_size"]) for r in rows] == [(backend, 8)]
        assert rows[0]["train_img_per_s"] > 0 and rows[0]["fastest_batch"], rows
        profiled = json.loads((out / "profile" / f"profile-{backend}-float32-b8.json").read_text())
        assert profiled["ops"] and not list((out / "profile").glob("trace-*"))  # traces stay in --work
        for run in ("mnist", "ablation-r1-norecon", "fashion"):
            status = json.loads((out / run / "status.json").read_text())
            assert status["finished"] and status["epochs_done"] == 1 and status["backend"] == backend
            assert len(status["test_error_per_epoch"]) == 1 and (out / run / "log.png").is_file()
        assert json.loads((out / "ablation-r1-norecon" / "status.json").read_text())["routings"] == 1
        assert (out / "mnist" / "real_and_recon.png").is_file()
        table = (out / "training.md").read_text()
        assert "| mnist | smoke.npz | capsnet |" in table
        for run, model in (("translated-capsnet", "capsnet"), ("translated-cnn", "cnn-baseline")):
            status = json.loads((out / run / "status.json").read_text())
            assert status["finished"] and status["model"] == model and status["dataset"] == "mnist-translated"
            assert (out / run / "test.txt").is_file()  # the translated test set, then affNIST's:
            assert "test accuracy" in (out / run / "affnist-generated" / "test.txt").read_text()
            assert f"- {run} on affnist-generated: test accuracy" in table
        assert not list(out.glob("**/*.partial"))
        with tarfile.open(archive) as tar:
            assert "gpu-cpu/bench-summary.md" in tar.getnames()

        started = time.monotonic()
        again = _gpu_run("all", "--together", *options)  # the side-by-side path finds them done too
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already measured" in again.stdout and "mnist: already finished" in again.stdout
        assert "translated-cnn: already finished" in again.stdout
        assert "profile: torch already profiled" in again.stdout
        assert time.monotonic() - started < 60
    finally:
        shutil.rmtree(work, ignore_errors=True)  # checkpoints: hundreds of MB


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["bogus"], "unknown part bogus"),
        (["bench", "--batches", "0"], "--batches '0'"),
        (["bench", "--backends", "caffe"], "unknown --backends caffe"),
        (["bench", "--precisions", "float8"], "unknown --precisions float8"),
        (["mnist", "--precision", "float8"], "unknown --precision 'float8'"),
        (["bench", "--budget", "-1"], "--budget -1.0"),
        (["mnist", "--epochs", "0"], "--epochs 0"),
        (["fashion", "--data-dir", "/nonexistent"], "fashion_mnist.npz not found"),
        (["bench", "--cuda-graphs", "--backends", "torch"], "--cuda-graphs needs --jit"),
        (["bench", "--jit", "--cuda-graphs", "--backends", "jax,torch"], "add --backends torch"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, fragment, capsys):
    assert gpu_run.main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], captured.err
    assert captured.out == ""


def test_a_stopped_process_gets_sigterm_then_sigkill(tmp_path):
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    graceful = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(130)); time.sleep(60)"
    )
    started = time.monotonic()
    code, stopped = run_until(
        [sys.executable, "-c", graceful], tmp_path / "a.log", environment, stop_at=started + 1
    )
    assert (code, stopped) == (130, True) and time.monotonic() - started < 20
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    started = time.monotonic()
    code, stopped = run_until(
        [sys.executable, "-c", stubborn], tmp_path / "b.log", environment, stop_at=started + 1, grace=1
    )
    assert (code, stopped) == (-signal.SIGKILL, True) and time.monotonic() - started < 20


def _bench_json(folder, backend, batch, speeds, epoch_s):
    folder.mkdir(parents=True)
    records = {}
    for precision, speed in speeds.items():
        records[f"{backend} {precision}"] = {
            "backend": backend,
            "precision": precision,
            "batch_size": batch,
            "train_img_per_s": speed,
            "vs_float32": round(speed / speeds["float32"], 2),
            "epoch_s": epoch_s,
            "epoch_measured": True,
            "eval_img_per_s": 3 * speed,
            "peak_memory_mb": 1000.0,
            "peak_memory_kind": "device",
            "train_gflops": speed * 1.2,
            "versions": {"keras": "3.15.1", backend: "1.0"},
        }
    (folder / "bench.json").write_text(json.dumps(records))


def test_summary_marks_the_fastest_batch_and_judges_the_targets(tmp_path):
    _bench_json(
        tmp_path / "bench" / "jax-b100", "jax", 100, {"float32": 10_000, "mixed_bfloat16": 16_000}, 6.0
    )
    _bench_json(
        tmp_path / "bench" / "jax-b512", "jax", 512, {"float32": 20_000, "mixed_bfloat16": 40_000}, 1.5
    )
    _bench_json(
        tmp_path / "bench" / "torch-b100", "torch", 100, {"float32": 15_000, "mixed_bfloat16": 20_000}, 4.0
    )
    (tmp_path / "bench" / "torch-b512").mkdir()
    (tmp_path / "bench" / "torch-b512" / "bench.json").write_text(
        json.dumps({"torch float32": {"backend": "torch", "precision": "float32", "error": "out of memory"}})
    )
    name = "NVIDIA H100 80GB HBM3"
    rows = summary.rows(tmp_path, name)
    assert [(r["backend"], r["precision"], r["batch_size"]) for r in rows][:3] == [
        ("jax", "float32", 100),
        ("jax", "float32", 512),
        ("jax", "mixed_bfloat16", 100),
    ]
    fastest = {(r["backend"], r["precision"]): r["batch_size"] for r in rows if r.get("fastest_batch")}
    assert fastest == {
        ("jax", "float32"): 512,
        ("jax", "mixed_bfloat16"): 512,
        ("torch", "float32"): 100,
        ("torch", "mixed_bfloat16"): 100,
    }
    jax_f32 = next(r for r in rows if r["backend"] == "jax" and r["batch_size"] == 512)
    assert jax_f32["nominal_tflops"] == 66.9
    assert jax_f32["share_of_nominal_peak"] == round(20_000 * 1.2 / 66_900, 4)
    lines = summary.targets(rows)
    assert any(line.startswith("fastest 60,000-image fit() epoch: 1.5 s (jax, float32") for line in lines)
    assert any("float32: jax 20000 vs torch 15000" in line and "1.33x apart" in line for line in lines)
    assert any(
        line.startswith("jax: mixed_bfloat16 2.00x float32") and line.endswith("met") for line in lines
    )
    assert any(line.startswith("torch: mixed_bfloat16 1.33x") and line.endswith("not met") for line in lines)
    text = summary.markdown(rows, name, ["jax", "torch"])
    assert "failed: out of memory" in text and "Not measured: tensorflow" in text
    assert summary.fastest_backend(tmp_path, name, "float32", 100) == "torch"


def test_device_names_and_datasheet_peaks():
    assert device.slug("NVIDIA H100 80GB HBM3") == "h100-80gb-hbm3"
    assert device.nominal_tflops("NVIDIA H100 80GB HBM3", "fast") == 494.7
    assert device.nominal_tflops("NVIDIA H100 PCIe", "mixed_bfloat16") == 756.0
    assert device.nominal_tflops("NVIDIA H200", "float32") == 66.9
    assert device.nominal_tflops("cpu", "float32") is None


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_prepare_reads_an_idx_folder_into_the_keras_layout(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(6) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(4),
    }
    for name, array in arrays.items():
        _write_idx(tmp_path / name, array)
    read = prepare.idx_folder_arrays(tmp_path)
    assert read["x_train"].dtype == np.uint8 and read["x_train"].shape == (6, 28, 28)
    np.testing.assert_array_equal(read["y_test"], np.arange(4))
    smoke = prepare.smoke_data(tmp_path / "smoke.npz", train=20, test=10)
    with np.load(smoke) as npz:
        assert npz["x_train"].shape[0] == 20 and npz["x_test"].shape[0] == 10


def test_prepare_refuses_a_missing_idx_folder():
    with pytest.raises(gpu_run.UsageError, match="dataset-fashion-mnist"):
        prepare.idx_folder_arrays(Path("/nonexistent/fashion"))


def test_parts_that_do_not_fit_the_budget_are_left_for_the_next_run(tmp_path, capsys):
    args = ["info", "bench", "mnist", "--smoke", "--budget", "1", "--out", tmp_path / "out"]
    assert gpu_run.main([*map(str, args), "--work", str(tmp_path / "work")]) == 0
    output = capsys.readouterr().out
    assert "bench: not started: time budget" in output and "mnist: not started: time budget" in output
    assert "run the same command again to continue" in output
    assert not (tmp_path / "work").exists()


def test_supervised_processes_run_side_by_side(tmp_path):
    """The first waits for a file the second writes: taking turns, it would be stopped at its deadline."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    flag = tmp_path / "flag"
    waits = f"import pathlib, time\nwhile not pathlib.Path({str(flag)!r}).exists(): time.sleep(0.05)"
    writes = f"import pathlib; pathlib.Path({str(flag)!r}).write_text('here')"
    deadline = time.monotonic() + 60
    first = Supervised([sys.executable, "-c", waits], tmp_path / "a.log", environment, stop_at=deadline)
    second = Supervised([sys.executable, "-c", writes], tmp_path / "b.log", environment, stop_at=deadline)
    wait_all([first, second])
    assert (first.returncode, first.stopped) == (0, False)
    assert (second.returncode, second.stopped) == (0, False)


def _settings(tmp_path, *options):
    args = ["mnist", "ablation", "fashion", "--together", "--backends", "torch", "--precision", "fast"]
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name in ("mnist.npz", "fashion_mnist.npz"):
        (data / name).touch()
    args += ["--data-dir", data, "--out", tmp_path / "out", "--work", tmp_path / "work", *options]
    return gpu_run.settings_from([str(a) for a in args])


def test_together_starts_only_the_runs_that_would_end_in_the_budget(tmp_path, capsys):
    from tools.gpu import training

    every_run = ["mnist", "ablation-r1-recon", "ablation-r1-norecon", "ablation-r3-norecon", "fashion"]
    settings = _settings(tmp_path, "--budget", "100000")
    runs = [run for part in ("mnist", "ablation", "fashion") for run in gpu_run.TRAINING[part](settings)]
    assert [run.name for run in runs] == every_run
    # no bench figure to estimate from: all of them
    assert [run.name for run in training._fit_together(settings, runs)] == every_run

    # 50 epochs of 10 s (x1.2 with the test set) = 600 s a run; 1,500 s hold two runs
    _bench_json(settings.out / "bench" / "torch-b100", "torch", 100, {"float32": 100, "fast": 120}, 10.0)
    settings = _settings(tmp_path, "--budget", "1500")
    assert [run.name for run in training._fit_together(settings, runs)] == every_run[:2]
    assert "ablation-r1-norecon: not started" in capsys.readouterr().out
    # a run whose checkpoint holds 45 of 50 epochs needs 60 s, and the first run always starts
    (settings.work / "ablation-r1-norecon").mkdir(parents=True)
    (settings.work / "ablation-r1-norecon" / "checkpoint.json").write_text('{"epoch": 45}')
    assert [run.name for run in training._fit_together(settings, runs)] == every_run[:3]
    settings = _settings(tmp_path, "--budget", "10")
    assert [run.name for run in training._fit_together(settings, runs)] == every_run[:1]


def test_stopping_a_process_also_stops_the_processes_it_started(tmp_path):
    """bench's worker must not go on using the GPU after bench itself was stopped."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    pid_file = tmp_path / "child.pid"
    parent = (
        "import pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))\n"
        "time.sleep(120)"
    )
    started = time.monotonic()
    code, stopped = run_until(
        [sys.executable, "-c", parent], tmp_path / "a.log", environment, stop_at=started + 2, grace=1
    )
    assert stopped and code == -signal.SIGTERM
    child = int(pid_file.read_text())
    for _ in range(100):
        if not _running(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child of a stopped process is still running")


def _running(pid):
    """Whether `pid` runs: not gone, and not a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_an_interrupted_wait_stops_every_process_it_watches(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM of gpu_run must not leave trainings running on the GPU (they
    are in sessions of their own, so the signal itself does not reach them)."""
    from tools.gpu import context

    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    watched = [Supervised(sleeper, tmp_path / f"{n}.log", environment) for n in range(2)]

    real_sleep, calls = time.sleep, []

    def interrupted_once(seconds):  # Ctrl-C during the wait, not during the clean-up
        calls.append(seconds)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(context.time, "sleep", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        wait_all(watched)
    assert all(w.returncode is not None and not _running(w.process.pid) for w in watched)


def test_a_bench_stopped_by_the_budget_keeps_its_finished_precisions_and_measures_the_rest(
    tmp_path, monkeypatch
):
    from tools.gpu import bench

    fake = (
        "import json, pathlib, sys, time\n"
        "args = sys.argv[1:]\n"
        "out, precisions = pathlib.Path(args[args.index('--out') + 1]), args[args.index('--precision') + 1]\n"
        "out.mkdir(parents=True)\n"
        "first = precisions.split(',')[0]\n"
        "record = dict(backend='torch', precision=first, train_img_per_s=10.0, epoch_s=6000.0,\n"
        "              epoch_measured=True, eval_img_per_s=30.0, peak_memory_mb=1.0,\n"
        "              peak_memory_kind='host RSS', train_gflops=12.0, versions={})\n"
        "(out / 'bench.json').write_text(json.dumps({'torch ' + first: record}))\n"
        "time.sleep(0 if ',' not in precisions else 120)\n"
    )
    settings = gpu_run.settings_from(
        ["bench", "--smoke", "--backends", "torch", "--precisions", "float32,fast", "--budget", "8"]
        + ["--out", str(tmp_path / "out")]
    )
    calls = []

    def capsnet(backend, *args):
        calls.append(args[args.index("--precision") + 1])
        return [sys.executable, "-c", fake, *map(str, args)]

    monkeypatch.setattr(settings, "capsnet", capsnet)
    assert bench.run(settings) == "incomplete"
    where = bench.folder(settings, "torch", 8)
    assert list(bench.measured(where)) == ["torch float32"] and not (where / "measuring").exists()

    settings.budget = gpu_run.Budget(60)
    assert bench.run(settings) == "done"
    assert calls == ["float32,fast", "fast"]
    assert sorted(bench.measured(where)) == ["torch fast", "torch float32"]
    assert bench.run(settings) == "done" and len(calls) == 2  # all there: nothing measured again


def test_compiled_bench_runs_are_rows_of_their_own_and_count_for_their_backend(tmp_path):
    _bench_json(
        tmp_path / "bench" / "jax-b100", "jax", 100, {"float32": 10_000, "mixed_bfloat16": 16_000}, 6.0
    )
    _bench_json(
        tmp_path / "bench" / "torch-b100", "torch", 100, {"float32": 4_000, "mixed_bfloat16": 5_000}, 15.0
    )
    _bench_json(
        tmp_path / "bench" / "torch-jit-b100", "torch", 100, {"float32": 8_000, "mixed_bfloat16": 14_000}, 2.5
    )
    name = "NVIDIA H100 80GB HBM3"
    rows = summary.rows(tmp_path, name)
    assert [r["backend"] for r in rows if r["precision"] == "float32"] == ["jax", "torch", "torch jit"]
    lines = summary.targets(rows)
    assert any(
        "float32: jax 10000 vs torch jit 8000 img/s" in line and "1.25x apart" in line for line in lines
    )
    assert any(line.startswith("torch jit: mixed_bfloat16 1.75x float32") for line in lines)
    assert any(line.startswith("torch: mixed_bfloat16 1.25x float32") for line in lines)
    # training runs without jit: the compiled row's shorter epoch does not pick its backend
    assert summary.fastest_backend(tmp_path, name, "float32", 100) == "jax"
    assert summary.epoch_seconds(tmp_path, name, "torch", "float32", 100) == 15.0


def test_bench_starts_when_one_precision_fits_the_budget(tmp_path, monkeypatch):
    # A long JAX call can leave too little time for another whole call, yet a
    # call cut by the budget keeps the precisions it finished: so it starts.
    from tools.gpu import bench, context

    clock = [0.0]
    monkeypatch.setattr(context.time, "monotonic", lambda: clock[0])
    settings = gpu_run.settings_from(
        ["bench", "--backends", "jax,torch", "--batches", "1024", "--budget", "400"]
        + ["--out", str(tmp_path / "out")]
    )
    started = []

    def measure(settings, backend, batch, where, missing):
        started.append(backend)
        clock[0] += 240.0  # three precisions, 80 s each
        return "done"

    monkeypatch.setattr(bench, "_measure", measure)
    monkeypatch.setattr(bench.summary, "write", lambda s: None)
    # 160 s left after jax: room for one 90-s precision and the 45-s margin
    assert bench.run(settings) == "done" and started == ["jax", "torch"]

    settings.budget = gpu_run.Budget(120)  # under one precision's first guess plus the margin
    started.clear()
    assert bench.run(settings) == "incomplete" and started == []


def test_a_bench_call_is_stopped_before_the_reserve_for_later_parts(tmp_path, monkeypatch):
    from tools.gpu import bench

    settings = gpu_run.settings_from(
        ["bench", "--backends", "torch", "--batches", "100", "--budget", "300", "--bench-reserve", "150"]
        + ["--out", str(tmp_path / "out")]
    )
    seen = {}

    def fake_run_until(command, log, env, stop_at=None, **kwargs):
        seen["stop_at"] = stop_at
        return 1, False

    monkeypatch.setattr(bench, "run_until", fake_run_until)
    bench.run(settings)
    assert seen["stop_at"] == settings.budget.deadline - settings.margin - 150


def test_another_seed_trains_into_folders_of_its_own(tmp_path, monkeypatch):
    from tools.gpu import training

    trained = []
    monkeypatch.setattr(training, "train", lambda settings, run: trained.append(run.name) or "done")
    (tmp_path / "out").mkdir()  # the results folder, where run_all writes its table

    def names(*seed):
        settings = _settings(tmp_path, "--epochs", "50", "--ablation-epochs", "30", *seed)
        kinds = (training.mnist_runs, training.ablation_runs, training.fashion_runs)
        trained.clear()
        training.run_all(settings, [run for runs in kinds for run in runs(settings)])
        return list(trained)

    assert names()[:2] == ["mnist", "ablation-r1-recon"] and names()[-1] == "fashion"
    seeded = names("--seed", "2")
    assert seeded[:2] == ["mnist-seed2", "ablation-r1-recon-seed2"] and seeded[-1] == "fashion-seed2"


def test_cuda_graph_runs_get_inductors_flag_a_folder_and_a_row_of_their_own(tmp_path, monkeypatch):
    from tools.gpu import bench

    args = ["bench", "--jit", "--cuda-graphs", "--backends", "torch", "--batches", "100", "--smoke"]
    settings = gpu_run.settings_from(args + ["--out", str(tmp_path / "out")])
    assert bench.folder(settings, "torch", 100).name == "torch-jit-graphs-b100"
    seen = {}

    def fake_run_until(command, log, env, **kwargs):
        seen.update(command=command, graphs=env.get("TORCHINDUCTOR_CUDAGRAPHS"))
        return 1, False

    monkeypatch.setattr(bench, "run_until", fake_run_until)
    bench.run(settings)
    assert seen["graphs"] == "1" and "--jit" in seen["command"]

    plain_args = ["bench", "--jit", "--backends", "torch", "--smoke", "--out", str(tmp_path)]
    plain = gpu_run.settings_from(plain_args)
    assert "TORCHINDUCTOR_CUDAGRAPHS" not in bench.environment(plain, "torch")

    for folder, speed in (("torch-jit-b100", 8_000), ("torch-jit-graphs-b100", 12_000)):
        _bench_json(tmp_path / "rows" / "bench" / folder, "torch", 100, {"float32": speed}, 5.0)
    labels = {r["backend"]: r["train_img_per_s"] for r in summary.rows(tmp_path / "rows", "NVIDIA H100")}
    assert labels == {"torch jit": 8_000, "torch jit+graphs": 12_000}


def test_summary_marks_epochs_timed_as_a_whole_fit_call(tmp_path):
    _bench_json(tmp_path / "bench" / "jax-b100", "jax", 100, {"float32": 10_000}, 6.7)
    _bench_json(tmp_path / "bench" / "jax-b1024", "jax", 1024, {"float32": 14_000}, 4.4)
    record = json.loads((tmp_path / "bench" / "jax-b1024" / "bench.json").read_text())
    record["jax float32"]["epoch_timed"] = "second of two fit() epochs"
    (tmp_path / "bench" / "jax-b1024" / "bench.json").write_text(json.dumps(record))
    text = summary.markdown(summary.rows(tmp_path, "NVIDIA H100"), "NVIDIA H100", ["jax"])
    assert "| 6.7 (whole call) |" in text and "| 4.4 |" in text and "(whole call): a fit() call" in text


def test_the_paper_recipe_part_trains_with_the_recipe_not_the_seed_settings(tmp_path):
    from tools.gpu import training

    settings = _settings(tmp_path)
    (run,) = training.paper_recipe_runs(settings)
    args = [str(a) for a in training._train_args(settings, run, tmp_path / "work", resume=False)]
    assert args[:4] == ["--recipe", "paper", "--epochs", "640"]
    assert "--lr-decay" not in args and "--batch-size" not in args and "--lr" not in args
    assert training.paper_recipe_runs(_settings(tmp_path, "--epochs", "20"))[0].epochs == 20
    assert "paper" in gpu_run.PARTS and "paper" not in gpu_run.ALL


def test_efficient_capsnet_multimnist_part_trains_that_family_on_fresh_pairs(tmp_path):
    """Its own decay and epoch size; no --routings, which efficient-capsnet refuses."""
    from tools.gpu import training

    settings = _settings(tmp_path)
    (run,) = training.efficient_multimnist_runs(settings)
    args = [str(a) for a in training._train_args(settings, run, tmp_path / "work", resume=False)]

    def value(flag):
        return args[args.index(flag) + 1]

    assert (value("--model"), value("--dataset"), value("--epoch-size")) == (
        "efficient-capsnet",
        "multimnist",
        "300000",
    )
    assert (value("--lr-decay"), value("--shift-pixels"), value("--epochs")) == ("0.95", "0", "50")
    assert "--routings" not in args and "--lam-recon" in args
    assert (value("--primary-kernel-size"), value("--primary-strides")) == ("7", "3")  # 144 capsules
    resumed = [str(a) for a in training._train_args(settings, run, tmp_path / "work", resume=True)]
    assert "--primary-kernel-size" not in resumed  # the saved model keeps it
    (capsnet_run,) = training.multimnist_runs(settings)
    capsnet_args = [str(a) for a in training._train_args(settings, capsnet_run, tmp_path / "w", resume=False)]
    assert capsnet_args[capsnet_args.index("--lr-decay") + 1] == "0.9" and "--routings" in capsnet_args
    assert "multimnist-efficient" in gpu_run.PARTS and "multimnist-efficient" not in gpu_run.ALL


def test_bench_with_steps_per_call_gets_a_folder_and_rows_of_its_own(tmp_path):
    from tools.gpu import bench

    settings = _settings(tmp_path, "--steps-per-execution", "8")
    assert bench.folder(settings, "jax", 100).name == "jax-spe8-b100"
    _bench_json(tmp_path / "rows" / "bench" / "jax-b100", "jax", 100, {"float32": 10_000}, 4.0)
    _bench_json(tmp_path / "rows" / "bench" / "jax-spe8-b100", "jax", 100, {"float32": 10_000}, 2.0)
    record_file = tmp_path / "rows" / "bench" / "jax-spe8-b100" / "bench.json"
    records = json.loads(record_file.read_text())
    records["jax float32"]["steps_per_execution"] = 8
    record_file.write_text(json.dumps(records))
    labels = [row["backend"] for row in summary.rows(tmp_path / "rows", "NVIDIA H100")]
    assert labels == ["jax", "jax 8 steps/call"]


def test_bench_from_host_data_gets_a_folder_and_rows_of_its_own(tmp_path):
    from tools.gpu import bench, training

    settings = _settings(tmp_path, "--data-on-host", "--steps-per-execution", "8")
    assert bench.folder(settings, "jax", 100).name == "jax-spe8-host-b100"
    assert bench.folder(_settings(tmp_path), "jax", 100).name == "jax-b100"
    for name, on_device in (("jax-b100", True), ("jax-host-b100", False)):
        _bench_json(tmp_path / "rows" / "bench" / name, "jax", 100, {"float32": 10_000}, 4.0)
        record_file = tmp_path / "rows" / "bench" / name / "bench.json"
        records = json.loads(record_file.read_text())
        records["jax float32"]["data_on_device"] = on_device
        record_file.write_text(json.dumps(records))
    labels = [row["backend"] for row in summary.rows(tmp_path / "rows", "NVIDIA H100")]
    assert labels == ["jax", "jax host data"]
    (run,) = training.paper_recipe_runs(settings)
    assert "--data-on-host" in training._train_args(settings, run, tmp_path / "work", resume=False)


def test_training_runs_take_the_steps_per_call_given(tmp_path):
    from tools.gpu import training

    settings = _settings(tmp_path, "--steps-per-execution", "8")
    (run,) = training.paper_recipe_runs(settings)
    args = [str(a) for a in training._train_args(settings, run, tmp_path / "work", resume=False)]
    assert args[args.index("--steps-per-execution") + 1] == "8"
    with pytest.raises(gpu_run.UsageError, match="steps-per-execution"):
        _settings(tmp_path, "--steps-per-execution", "0")
