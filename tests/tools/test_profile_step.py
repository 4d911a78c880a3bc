"""tools/profile_step.py and the plug-ins' `profile()`: per-op times of a training step."""

import json

import keras
import pytest

from capsnet.backends.op_times import on_device_first, top_ops
from tools import profile_step

pytestmark = pytest.mark.slow  # subprocesses or training runs


def test_top_ops_adds_up_each_op_and_keeps_the_longest():
    events = [("cpu", "a", 1000.0), ("cpu", "b", 300.0), ("cpu", "a", 500.0), ("gpu", "a", 200.0)]
    assert top_ops(events, count=2) == [
        {"where": "cpu", "op": "a", "calls": 2, "total_ms": 1.5},
        {"where": "cpu", "op": "b", "calls": 1, "total_ms": 0.3},
    ]
    assert on_device_first(events) == [("gpu", "a", 200.0)]
    assert on_device_first(events[:2]) == events[:2]


def test_profile_lists_the_step_ops_by_time(tmp_path):
    backend = keras.backend.backend()
    args = ["--backend", backend, "--batch-size", "4", "--steps", "2", "--warmup", "1", "--out", tmp_path]
    assert profile_step.main([str(a) for a in args]) == 0
    record = json.loads((tmp_path / f"profile-{backend}-float32-b4.json").read_text())
    ops = record["ops"]
    assert ops and all(op["total_ms"] > 0 and op["calls"] >= 1 for op in ops)
    assert [op["total_ms"] for op in ops] == sorted((op["total_ms"] for op in ops), reverse=True)
    # Python frames and the runtime's wrappers are not ops
    wrappers = ("$", "ThunkExecutor", "ExecutorState", "EagerLocalExecute")
    assert not any(op["op"].startswith(wrappers) for op in ops)
    assert record["step_ms_unprofiled"] > 0
    assert "| where | op |" in (tmp_path / f"profile-{backend}-float32-b4.md").read_text()


def test_profile_of_another_family_is_named_after_it(tmp_path):
    backend = keras.backend.backend()
    args = ["--backend", backend, "--model", "efficient-capsnet", "--batch-size", "2", "--steps", "1"]
    assert profile_step.main([str(a) for a in [*args, "--warmup", "1", "--out", tmp_path]]) == 0
    record = json.loads((tmp_path / f"profile-efficient-capsnet-{backend}-float32-b2.json").read_text())
    assert record["model"] == "efficient-capsnet" and record["ops"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--steps", "0"], "--steps"),
        (["--precision", "float8"], "unknown --precision 'float8'"),
        (["--model", "resnet"], "unknown --model 'resnet'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, args, fragment):
    argv = ["--backend", keras.backend.backend(), "--out", str(tmp_path), *args]
    assert profile_step.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and fragment in err[0]
