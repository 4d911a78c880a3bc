"""tools/large_images_sweep.py: its table and plot from bench records."""

import json

import pytest

from tools import large_images_sweep as sweep

pytestmark = pytest.mark.one_backend  # no model is built


def _record(records, case, **result):
    (records / case).mkdir(parents=True)
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
    (records / case / "bench.json").write_text(json.dumps({"torch": {**base, **result}}))


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
