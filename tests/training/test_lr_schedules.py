"""The learning-rate schedules of `capsnet train --lr-schedule`, against the
formulas worked by hand, and Adam's steps under them against a numpy Adam."""

import math

import keras
import numpy as np
import pytest

from capsnet import schedules
from capsnet.commands.train import _check_schedule
from capsnet.errors import CapsNetInputError
from capsnet.step_schedules import FlooredExponentialDecay, per_step


def rate(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_the_authors_decay_is_continuous_and_floored():
    # lr x 0.96^(step / 2000), never below 1e-6 (tensorflow/models research/capsules)
    authors = per_step("step-exponential", 1e-3, 0.96, None, 1e-6, total_steps=300_000)
    assert rate(authors, 0) == pytest.approx(1e-3, rel=1e-6)
    assert rate(authors, 1000) == pytest.approx(1e-3 * math.sqrt(0.96), rel=1e-6)
    assert rate(authors, 2000) == pytest.approx(0.96e-3, rel=1e-6)
    assert rate(authors, 300_000) == pytest.approx(1e-3 * 0.96**150, rel=1e-5)  # 2.2e-6: above the floor
    # 0.96^(step/2000) reaches 1e-3 near step 338,440: the floor holds from there on
    assert rate(authors, 400_000) == pytest.approx(1e-6, rel=1e-6)


def test_the_cosine_runs_from_lr_to_the_floor_over_the_run():
    cosine = per_step("cosine", 1e-3, 0.9, None, 1e-5, total_steps=100)
    assert rate(cosine, 0) == pytest.approx(1e-3, rel=1e-6)
    assert rate(cosine, 50) == pytest.approx((1e-3 + 1e-5) / 2, rel=1e-5)
    assert rate(cosine, 25) == pytest.approx(1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi / 4)) / 2, rel=1e-5)
    assert rate(cosine, 100) == pytest.approx(1e-5, rel=1e-5)
    assert rate(cosine, 500) == pytest.approx(1e-5, rel=1e-5)


def test_the_per_epoch_schedule_is_the_seed_recipes_with_an_optional_floor():
    seed = schedules.per_epoch("epoch-exponential", 1e-3, 0.9)
    assert [seed(e) for e in (0, 1, 2)] == [1e-3, 1e-3 * 0.9, 1e-3 * 0.9**2]
    floored = schedules.per_epoch("epoch-exponential", 1e-3, 0.5, min_lr=3e-4)
    assert [floored(e) for e in (0, 1, 2)] == [1e-3, 5e-4, 3e-4]
    assert per_step("epoch-exponential", 1e-3, 0.9, None, 0.0, total_steps=10) == 1e-3
    assert schedules.per_epoch("step-exponential", 1e-3, 0.9) is None


def test_a_schedule_survives_saving():
    schedule = FlooredExponentialDecay(2e-3, 0.5, 10, min_lr=1e-4)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, FlooredExponentialDecay) and again.get_config() == schedule.get_config()


def _numpy_adam(w, gradient, rates, beta_1=0.9, beta_2=0.999, eps=1e-7):
    """Adam as Kingma & Ba write it (Keras's epsilon), one rate per step."""
    m = v = np.zeros_like(w)
    for t, lr in enumerate(rates, start=1):
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient**2
        w = w - lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + eps)
    return w


def test_adam_takes_each_step_at_that_steps_rate():
    # the first step at lr(0), the next at lr(1), ...: the step count before it
    schedule = FlooredExponentialDecay(1e-2, 0.5, 1, min_lr=2e-3)
    rates = [1e-2, 5e-3, 2.5e-3, 2e-3]
    w0 = np.array([1.0, -2.0, 3.0], "float32")
    gradient = np.array([0.5, -1.0, 2.0], "float32")
    variable = keras.Variable(w0)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    for _ in rates:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    expected = _numpy_adam(w0.astype("float64"), gradient.astype("float64"), rates)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=1e-5)
    # against a constant rate the steps differ: the test can fail
    assert not np.allclose(
        expected, _numpy_adam(w0.astype("float64"), gradient.astype("float64"), [1e-2] * 4)
    )


@pytest.mark.parametrize(
    "settings, fragment",
    [
        (("linear", 1e-3, 0.9, None, 0.0), "--lr-schedule 'linear': choose one of"),
        (("cosine", 1e-3, 0.9, None, 1e-3), "--min-lr 0.001 is not below --lr 0.001"),
        (("epoch-exponential", 1e-3, 0.9, 100, 0.0), "--lr-decay-steps applies to --lr-schedule"),
        (("step-exponential", 1e-3, 1.5, 100, 0.0), "--lr-decay 1.5 is not in (0, 1]"),
    ],
)
def test_settings_that_make_no_schedule_are_refused(settings, fragment):
    with pytest.raises(CapsNetInputError, match=fragment.replace("(", r"\(").replace("]", r"\]")):
        _check_schedule(*settings)


def test_steps_per_epoch_counts_the_last_smaller_batch():
    assert schedules.steps_per_epoch(60_000, 128) == 469  # 640 x 469 = 300,160: the paper recipe's steps
    assert schedules.steps_per_epoch(60_000, 100) == 600
