import json

import keras

from tests.cli_helpers import invoke


def test_bench_runs_a_backend_in_a_subprocess(tmp_path):
    backend = keras.backend.backend()
    result = invoke(
        "bench",
        "--backends",
        backend,
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--out",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "bench.json").read_text())[backend]
    assert "error" not in record, record
    assert record["train_img_per_s"] > 0 and record["eval_img_per_s"] > 0
    assert record["epoch_measured"] is False and record["epoch_s"] > 0
    assert len(record["train_step_s"]) == 2 and record["versions"]["keras"]
    assert (tmp_path / "bench.png").is_file() and f"| {backend} |" in result.output
