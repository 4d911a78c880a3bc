"""Several training steps per compiled call (Keras's `steps_per_execution`,
where the backend runs it) give the weights of one step per call: the model's
seeded shifts and Adam's step count advance inside the loop as outside it."""

import keras
import numpy as np
import pytest

from capsnet import backends
from capsnet.data import SAMPLE
from capsnet.models import get_family
from capsnet.training import compile_for_training, inputs_and_targets


def _trained_weights(steps_per_execution):
    keras.utils.set_random_seed(4)
    models = get_family("capsnet").build((28, 28, 1), 10, routings=2, seed=4)
    compile_for_training(models.train, steps_per_execution=backends.steps_per_execution(steps_per_execution))
    with np.load(SAMPLE) as sample:
        x, y = sample["x_train"][:32], sample["y_train"][:32]
    inputs, targets = inputs_and_targets(x, y, 10, models.train)
    models.train.fit(list(inputs), list(targets), batch_size=4, epochs=1, shuffle=False, verbose=0)
    return [keras.ops.convert_to_numpy(w) for w in models.train.trainable_weights], models.train


@pytest.mark.skipif(
    backends.steps_per_execution(4) == 1, reason="this backend runs one step per call whatever is asked"
)
def test_four_steps_per_call_train_like_one_step_per_call():
    one, model = _trained_weights(1)
    four, model_four = _trained_weights(4)
    assert (
        int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        == int(keras.ops.convert_to_numpy(model_four.optimizer.iterations))
        == 8
    )
    initial = _initial_weights()
    assert any(not np.allclose(a, b) for a, b in zip(one, initial, strict=True))  # training moved them
    for a, b in zip(one, four, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def _initial_weights():
    keras.utils.set_random_seed(4)
    models = get_family("capsnet").build((28, 28, 1), 10, routings=2, seed=4)
    return [keras.ops.convert_to_numpy(w) for w in models.train.trainable_weights]
