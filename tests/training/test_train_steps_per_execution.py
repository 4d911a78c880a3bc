"""How `capsnet train` compiles its step changes the speed, not the run:
`--steps-per-execution N` gives the weights of one step per call (its
checkpoints still come when a block of steps crosses `--checkpoint-every`),
`--no-jit` those of the compiled step, and `run.json` records what ran."""

import json

import keras
import numpy as np
import pytest

from capsnet import backends, training
from tests.helpers import invoke, saved_weights

# 30 training images in batches of 10: 3 steps an epoch, so blocks of 2 end
# the epoch with a shorter one.
RUN = ("--batch-size", "10", "--epochs", "1", "--seed", "5", "--checkpoint-minutes", "0")


def test_two_steps_per_call_train_like_one(tmp_path, tiny_npz):
    ran_as = backends.steps_per_execution(2)
    assert ran_as == (1 if keras.backend.backend() == "torch" else 2)
    # Where the backend runs one step per call anyway, the second run would repeat the first.
    for steps in (1, 2) if ran_as == 2 else (2,):
        result = invoke(
            "train",
            "--data",
            tiny_npz,
            *RUN,
            "--steps-per-execution",
            steps,
            "--save-dir",
            tmp_path / str(steps),
        )
        assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "2" / "run.json").read_text())
    assert record["options"]["steps_per_execution"] == 2
    assert record["steps_per_execution"] == ran_as
    if ran_as == 2:
        one, two = (saved_weights(tmp_path / name / "trained_model.keras") for name in ("1", "2"))
        for a, b in zip(one, two, strict=True):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_a_block_of_steps_that_crosses_checkpoint_every_is_saved_after(monkeypatch):
    # Blocks of 2 steps over a 9-step epoch end at steps 2, 4, 6, 8 and 9: with a
    # checkpoint every 3 steps, the blocks ending at 4 (past 3) and 6 are saved,
    # 9 is the epoch's end (its own checkpoint follows), and none is missed.
    monkeypatch.setattr(training.exact_resume, "metric_states", lambda model: None)
    checkpoint = training.SafeCheckpoint("unused", stop=None, every_steps=3)
    saved = []
    checkpoint._save = lambda epochs_done, step, metrics: saved.append(step)
    checkpoint.steps_in_epoch = 9
    checkpoint.on_epoch_begin(0)
    for last_step_of_block in (1, 3, 5, 7, 9):
        checkpoint.on_train_batch_end(last_step_of_block)
    assert saved == [4, 6]


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="torch's --jit compiles for minutes on a CPU")
def test_the_step_uncompiled_trains_like_the_compiled_one(tmp_path, tiny_npz):
    for jit in ("--jit", "--no-jit"):
        result = invoke(
            "train",
            "--data",
            tiny_npz,
            *RUN,
            "--subset",
            "20",
            jit,
            "--save-dir",
            tmp_path / jit,
        )
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / jit / "run.json").read_text())["jit_compile"] is (jit == "--jit")
    compiled, eager = (saved_weights(tmp_path / jit / "trained_model.keras") for jit in ("--jit", "--no-jit"))
    # Adam moves a weight by up to lr = 1e-3 a step, whatever its gradient's size, so
    # XLA's other rounding of a near-zero gradient shows as up to a few 1e-5 after
    # 2 steps; a step missed or done twice would differ by about 1e-3.
    for a, b in zip(compiled, eager, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
