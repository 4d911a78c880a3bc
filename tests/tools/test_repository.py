"""The repository keeps what a measured run writes into results/."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What `capsnet bench`, `agree`, `portability` and a training run write into their folder.
RUN_FILES = ("bench.json", "bench.png", "agree.json", "agree.md", "portability.json", "log.csv", "run.json")


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_measured_runs_under_results_are_not_git_ignored():
    # bench.json in a run folder was ignored once, so the GPU machine (which gets
    # tracked and not-ignored files only) never saw the earlier bench results.
    paths = [f"results/some-topic/some-run/{name}" for name in RUN_FILES]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stdout.split() == [], done  # 1: none ignored; 128: git failed
    # what the commands write into the project's root by default stays out of git
    root = subprocess.run(["git", "check-ignore", "--no-index", "bench.json"], cwd=ROOT, capture_output=True)
    assert root.returncode == 0, root
