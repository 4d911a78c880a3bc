"""tools/large_images_sweep.py: its table and plot from bench records."""

import json
from pathlib import Path

import pytest

from tools import large_images_sweep as sweep

pytestmark = pytest.mark.one_backend  # no model is built


def _record(records, case, **result):
    (records / case).mkdir(parents=True, exist_ok=True)
    base = {
        "model": "capsnet",
        "input_shape": [224, 224, 3],
        "num_classes": 100,
        "params": 17_264_707,
        "class_capsule_params": 409_600,
        "peak_memory_mb": 1396.0,
        "train_img_per_s": 14.7,
        "eval_img_per_s": 40.9,
        "architecture": {"class_capsules": "shared", "stem_blocks": 3, "decoder_type": "deconv"},
    }
    name = result.get("backend", "torch")
    (records / case / "bench.json").write_text(json.dumps({name: {**base, **result}}))


def test_the_table_and_plot_come_from_the_records_in_case_order(tmp_path):
    _record(tmp_path, "shared-224x224x3-k100")
    paper = {"class_capsules": "per-capsule", "stem_blocks": 0, "decoder_type": "dense"}
    _record(
        tmp_path,
        "paper-28x28x1-k10",
        input_shape=[28, 28, 1],
        num_classes=10,
        params=8_215_568,
        architecture=paper,
    )
    _record(
        tmp_path,
        "efficient-128x128x3-k100",
        model="efficient-capsnet",
        architecture={"decoder_type": "deconv"},
    )
    results = sweep.read_records(tmp_path)
    assert list(results) == ["paper-28x28x1-k10", "shared-224x224x3-k100", "efficient-128x128x3-k100"]
    rows = sweep.table(results).splitlines()
    assert rows[2].startswith("| 28x28x1 | 10 | capsnet, per-capsule, stem 0, dense decoder | 8,215,568 |")
    assert (
        "| 224x224x3 | 100 | capsnet, shared, stem 3, deconv decoder | 17,264,707 | 409,600 | 1,396 MB |"
        in rows[3]
    )
    assert "efficient-capsnet, deconv decoder" in rows[4]
    sweep.plot(results, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 1000


def test_every_case_is_a_bench_command_line():
    for options in sweep.CASES.values():
        assert "--image-size" in options.split()


def test_the_arguments_bench_the_case_on_the_backend_into_its_folder(tmp_path):
    arguments = sweep.bench_arguments("shared-64x64x3-k100", tmp_path, "jax", 16, ["--steps", "10"])
    assert arguments[0] == "bench"
    for option, value in (("--backends", "jax"), ("--batch-size", "16"), ("--out", str(tmp_path))):
        assert arguments[arguments.index(option) + 1] == value
    assert arguments[arguments.index("--class-capsules") + 1] == "shared"
    assert arguments[arguments.index("--steps") + 1] == "10"


def test_a_failed_case_has_no_row(tmp_path):
    _record(tmp_path, "shared-224x224x3-k100")
    (tmp_path / "paper-28x28x1-k10").mkdir()
    failed = {"torch": {"backend": "torch", "error": "killed by SIGKILL: out of memory"}}
    (tmp_path / "paper-28x28x1-k10" / "bench.json").write_text(json.dumps(failed))
    assert list(sweep.read_records(tmp_path)) == ["shared-224x224x3-k100"]


def test_the_gpu_part_measures_each_case_once_and_reports_each_backend(tmp_path, monkeypatch):
    from tools import gpu_run
    from tools.gpu import large_images

    benched = []

    def fake_run_until(command, log, env, stop_at=None, **kwargs):
        out = command[command.index("--out") + 1]
        backend = command[command.index("--backends") + 1]
        benched.append((backend, Path(out).name))
        record = {"backend": backend, "batch_size": 16, "peak_memory_kind": "device"}
        _record(Path(out).parent, Path(out).name, **record)
        return 0, False

    monkeypatch.setattr(large_images, "run_until", fake_run_until)
    out = tmp_path / "out"
    arguments = ["large", "--backends", "jax,torch", "--budget", "3600", "--out", str(out)]
    settings = gpu_run.settings_from(arguments)
    assert large_images.run(settings) == "done"
    assert benched == [(b, case) for b in ("jax", "torch") for case in sweep.CASES]
    table = (out / "large-images" / "jax.md").read_text()
    assert "jax GPU, batch 16" in table and len(table.splitlines()) == 4 + len(sweep.CASES)
    assert (out / "large-images" / "torch.png").is_file()

    benched.clear()
    assert large_images.run(settings) == "done" and benched == []  # each case once

    (out / "large-images" / "torch" / "paper-28x28x1-k10" / "bench.json").unlink()
    settings.budget = gpu_run.Budget(60)  # under a case's first guess plus the margin
    assert large_images.run(settings) == "incomplete" and benched == []
