"""`train --recipe`, `--lr-schedule`, `--lr-decay-steps`, `--min-lr`: the
recipes' settings, the rates log.csv records against the formula worked by
hand, and a resumed run that goes on at the step it stopped at."""

import csv
import json
from pathlib import Path

import pytest

from capsnet.commands.train import settle_options
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke

LEFT_OUT = {
    "model": "capsnet", "epochs": None, "batch_size": None, "lr": None, "lr_decay": None,
    "recipe": None, "lr_schedule": None, "lr_decay_steps": None, "min_lr": None,
    "save_dir": Path("result"), "weights": None, "resume": False,
}  # fmt: skip


def _settle(given=(), **changes):
    return settle_options({**LEFT_OUT, **changes}, given=set(given) | set(changes))


def test_the_paper_recipe_is_the_authors_schedule():
    config = _settle(recipe="paper")
    assert (config.epochs, config.batch_size, config.lr) == (640, 128, 1e-3)
    assert (config.lr_schedule, config.lr_decay, config.lr_decay_steps, config.min_lr) == (
        "step-exponential", 0.96, 2000, 1e-6,
    )  # fmt: skip
    assert _settle(recipe="paper", epochs=5, min_lr=0.0).epochs == 5


def test_the_default_recipe_is_the_seed_projects_and_is_recorded():
    config = _settle()
    assert (config.recipe, config.epochs, config.lr_decay, config.lr_schedule) == (
        "seed", 50, 0.9, "epoch-exponential",
    )  # fmt: skip
    assert _settle(model="efficient-capsnet").recipe == "paper"
    with pytest.raises(CapsNetInputError, match="--model efficient-capsnet has the recipes paper"):
        _settle(model="efficient-capsnet", recipe="seed")


def _log_rates(run):
    with open(run / "log.csv") as f:
        return [float(row["learning_rate"]) for row in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.one_backend("torch")  # the home by hand, to even out the suites
def test_a_per_step_schedule_logs_the_hand_worked_rates_and_resumes_at_its_step(tmp_path, tiny_npz):
    # 30 images at batch 10: 3 steps an epoch; 2e-3 x 0.5^(step / 2), floored at 3e-4
    schedule = ["--lr", "2e-3", "--lr-schedule", "step-exponential", "--lr-decay", "0.5"]
    schedule += ["--lr-decay-steps", "2", "--min-lr", "3e-4"]
    common = ["--data", tiny_npz, "--batch-size", "10", "--seed", "3", "--checkpoint-minutes", "0"]
    whole = invoke("train", *schedule, *common, "--epochs", "2", "--save-dir", tmp_path / "whole")
    assert whole.exit_code == 0, whole.output
    after_3_steps, after_6_steps = 2e-3 * 0.5**1.5, max(2e-3 * 0.5**3, 3e-4)
    assert _log_rates(tmp_path / "whole") == pytest.approx([after_3_steps, after_6_steps], rel=1e-6)
    recorded = json.loads((tmp_path / "whole" / "run.json").read_text())["options"]
    assert (recorded["lr_schedule"], recorded["lr_decay_steps"], recorded["min_lr"]) == (
        "step-exponential", 2, 3e-4,
    )  # fmt: skip

    parts = tmp_path / "parts"
    first = invoke("train", *schedule, *common, "--epochs", "1", "--save-dir", parts)
    assert first.exit_code == 0, first.output
    # the same command plus --resume; the schedule comes back from run.json
    rest = invoke("train", *common, "--epochs", "2", "--save-dir", parts, "--resume")
    assert rest.exit_code == 0, rest.output
    assert _log_rates(parts) == pytest.approx([after_3_steps, after_6_steps], rel=1e-6)

    changed = invoke(
        "train", *common, "--epochs", "3", "--save-dir", parts, "--resume", "--lr-schedule", "cosine"
    )
    assert_input_error(changed, "--lr-schedule cannot change on --resume")


@pytest.mark.slow
@pytest.mark.one_backend("torch")  # the home by hand, to even out the suites
def test_a_floor_on_the_per_epoch_schedule(tmp_path, tiny_npz):
    options = ["--data", tiny_npz, "--batch-size", "10", "--seed", "1", "--save-dir", tmp_path / "run"]
    result = invoke("train", "--epochs", "3", "--lr-decay", "0.5", "--min-lr", "3e-4", *options)
    assert result.exit_code == 0, result.output
    assert _log_rates(tmp_path / "run") == pytest.approx([1e-3, 5e-4, 3e-4], rel=1e-6)


@pytest.mark.one_backend("torch")  # the home by hand, to even out the suites
def test_schedule_options_that_make_no_schedule_are_one_line(tmp_path, tiny_npz):
    run = ["--data", tiny_npz, "--save-dir", tmp_path / "run"]
    assert_input_error(invoke("train", "--lr-decay-steps", "5", *run), "--lr-decay-steps applies to")
    assert_input_error(invoke("train", "--lr-schedule", "cosine", "--min-lr", "1", *run), "is not below --lr")
    assert_input_error(
        invoke("train", "--model", "efficient-capsnet", "--recipe", "seed", *run), "the recipes paper"
    )
    assert not (tmp_path / "run").exists()
