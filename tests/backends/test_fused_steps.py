"""JAX: a block of `steps_per_execution` training steps in one compiled call
(`backends.jax_plugin.fuse_training_steps`) trains as one step per call does,
including the blocks that fall back to Keras's loop (an epoch's short last
block, a last batch of another size)."""

import keras
import numpy as np
import pytest

from capsnet import backends
from capsnet.data import SAMPLE
from capsnet.models import get_family
from capsnet.training import compile_for_training, inputs_and_targets

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's fused steps")


def _train(steps_per_execution, images=34, epochs=2):
    keras.utils.set_random_seed(6)
    models = get_family("capsnet").build((28, 28, 1), 10, routings=2, seed=6)
    compile_for_training(models.train, steps_per_execution=steps_per_execution)
    with np.load(SAMPLE) as sample:
        x, y = sample["x_train"][:images], sample["y_train"][:images]
    inputs, targets = inputs_and_targets(x, y, 10, models.train)
    history = models.train.fit(
        list(inputs), list(targets), batch_size=4, epochs=epochs, shuffle=False, verbose=0
    )
    weights = [keras.ops.convert_to_numpy(w) for w in models.train.weights]
    return weights, models.train, history.history


@pytest.mark.parametrize(
    ("images", "epochs", "fused_blocks"),
    [
        (36, 2, 6),  # 9 steps of 4 images an epoch: 3 blocks of 3, all fused
        (34, 1, 2),  # the last batch holds 2 images: its block runs through Keras's loop
    ],
)
def test_blocks_of_three_steps_in_one_call_train_like_one_step_per_call(images, epochs, fused_blocks):
    one, _, logs_one = _train(1, images, epochs)
    fused, model, logs = _train(3, images, epochs)
    assert model.train_function.fused_calls == fused_blocks
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 9 * epochs
    # Every weight, seed generator and metric state, within float rounding: XLA
    # rounds the fused steps a little differently (about 3e-7 here), where a
    # step missed, repeated or shifted differently would move weights by ~1e-3.
    for a, b in zip(one, fused, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    for name in logs_one:
        np.testing.assert_allclose(logs_one[name], logs[name], rtol=1e-5)


def test_compiling_again_keeps_one_fused_function():
    _, model, _ = _train(3, images=24, epochs=1)
    assert model.train_function.fused_calls == 2
    compile_for_training(model, steps_per_execution=3)
    assert backends.fuse_training_steps(model)
    model.make_train_function()
    assert model.train_function.fused_calls == 0
    assert model.make_train_function.fuses_steps
