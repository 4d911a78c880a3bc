"""What a checkpoint carries besides Keras's own file, so that a resumed run
goes on exactly as the uninterrupted one would have.

A `.keras` file holds the weights and the optimizer's variables, but not:

- the random generators' states (`keras.random.SeedGenerator`, as in
  `capsnet.layers.RandomShift`): Keras does not save them, so a reloaded
  model would draw its first shifts again;
- inside an epoch, the running sums of the epoch's metrics (loss and
  accuracy are means over every step of the epoch, and `fit()` resets them
  when an epoch begins).

Both are small lists of numbers and travel in the checkpoint's JSON state.
"""

import keras
import numpy as np

from capsnet.errors import CapsNetInputError

# The name Keras gives every SeedGenerator's state variable.
SEED_STATE_NAME = "seed_generator_state"


def _seed_variables(model):
    return [v for v in model.non_trainable_variables if v.path.split("/")[-1] == SEED_STATE_NAME]


def seed_states(model):
    """Each random generator's state in `model`, as lists of ints (JSON)."""
    return [keras.ops.convert_to_numpy(v).tolist() for v in _seed_variables(model)]


def metric_states(model):
    """Each metric variable of the compiled `model` (sums and counts), as JSON numbers."""
    return [keras.ops.convert_to_numpy(v).tolist() for v in model.metrics_variables]


def restore_seed_states(model, states):
    """Set `model`'s random generators to `states` (from `seed_states`); a
    checkpoint written before they were saved (None) leaves them as they are."""
    _assign(_seed_variables(model), states, "random generator states")


def restore_metric_states(model, states):
    """Set the compiled `model`'s metric variables to `states` (from `metric_states`)."""
    _assign(model.metrics_variables, states, "metric variables")


def _assign(variables, states, what):
    if states is None:
        return
    if len(states) != len(variables):
        raise CapsNetInputError(
            f"the checkpoint's state holds {len(states)} {what} but its model has {len(variables)}; "
            f"start again without resume=True, or continue from its weights with weights=PATH"
        )
    for variable, value in zip(variables, states, strict=True):
        variable.assign(np.asarray(value, dtype=variable.dtype).reshape(variable.shape))
