"""tools/paired_bench.py: variants in their own processes, taking turns."""

import argparse
import json

import keras
import pytest

from tools import paired_bench

pytestmark = pytest.mark.slow  # subprocesses or training runs


def test_variant_options_parse(tmp_path):
    script = tmp_path / "variant.py"
    script.write_text("")
    parsed = paired_bench.parse_variant(f"old:--no-fast-paths,A=1=2,run={script},precision=mixed_bfloat16")
    assert parsed == ("old", {"A": "1=2"}, False, str(script.resolve()), "mixed_bfloat16", True)
    assert paired_bench.parse_variant("new") == ("new", {}, True, "", None, True)
    assert paired_bench.parse_variant("python:--no-setup") == ("python", {}, True, "", None, False)


@pytest.mark.parametrize("text, problem", [("x:--fast", "unknown option"), ("x:run=missing.py", "no file")])
def test_bad_variant_is_one_line(text, problem):
    with pytest.raises(argparse.ArgumentTypeError, match=problem):
        paired_bench.parse_variant(text)


@pytest.mark.parametrize(
    "variants, problem", [(["a"], "at least two --variant"), (["a", "a:--no-fast-paths"], "its own name")]
)
def test_one_variant_or_one_name_twice_is_refused(capsys, variants, problem):
    args = ["--backend", "torch"] + [part for variant in variants for part in ("--variant", variant)]
    with pytest.raises(SystemExit) as exit_:
        paired_bench.main(args)
    assert exit_.value.code == 2
    assert problem in capsys.readouterr().err


def test_two_variants_take_turns_and_are_recorded(tmp_path):
    if keras.backend.backend() != "torch":
        pytest.skip("one backend is enough: the tool runs its own processes (torch starts fastest)")
    out = tmp_path / "paired.json"
    paired_bench.main(
        [
            "--backend",
            "torch",
            "--variant",
            "fast",
            "--variant",
            "plain:--no-fast-paths",
            "--rounds",
            "2",
            "--steps",
            "1",
            "--batch-size",
            "4",
            "--out",
            str(out),
        ]
    )
    results = json.loads(out.read_text())["results"]
    assert list(results) == ["fast", "plain"]
    assert "primary_conv" in results["fast"]["fast_paths"] and results["plain"]["fast_paths"] == []
    assert all(len(r["step_s"]) == 2 and r["precision"] == "float32" for r in results.values())
    assert results["fast"]["speed_vs_fast"] == 1.0


def test_model_picks_the_family_each_worker_builds(tmp_path, capsys):
    """A variant whose depthwise conv fails cannot start with Efficient-CapsNet, so
    `--model` reaches the workers: CapsNet, the default, has no depthwise conv (and
    CapsNet's workers start in the test above)."""
    if keras.backend.backend() != "torch":
        pytest.skip("one backend is enough: the tool runs its own processes (torch starts fastest)")
    script = tmp_path / "broken_depthwise.py"
    script.write_text(
        "from capsnet import fast_ops\n"
        "def broken(*args):\n"
        "    raise RuntimeError('the depthwise conv ran')\n"
        "fast_ops.register('depthwise_conv', broken)\n"
    )
    args = ["--backend", "torch", "--variant", "a", "--variant", f"b:run={script}"]
    args += ["--rounds", "1", "--steps", "1", "--batch-size", "2", "--model", "efficient-capsnet"]
    with pytest.raises(SystemExit, match="variant b failed to start"):
        paired_bench.main(args)
