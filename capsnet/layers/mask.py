"""Keep one capsule, zero the others, and flatten: the decoder's input."""

import keras
from keras import ops

from capsnet.layers import validation


@keras.saving.register_keras_serializable(package="capsnet")
class Mask(keras.layers.Layer):
    """Mask capsules by one-hot labels, or by the longest capsule.

    Called on `capsules` alone it keeps the longest capsule of each example
    (prediction), or the `rank`-th longest (the second digit of a MultiMNIST
    pair); called on `[capsules, labels]` it keeps the capsules the labels
    select (training uses the true label).

    Args:
        rank: which capsule to keep when no labels are given: 1 the longest,
            2 the second longest, ...

    Input shape:
        `(batch, num_capsule, dim_capsule)`, optionally with labels
        `(batch, num_capsule)`.

    Output shape:
        `(batch, num_capsule * dim_capsule)`.
    """

    def __init__(self, rank=1, **kwargs):
        super().__init__(**kwargs)
        validation.positive_int("rank", rank)
        self.rank = rank

    def build(self, input_shape):
        validation.rank("Mask", _capsules_shape(input_shape), 3, "(batch, num_capsule, dim_capsule)")

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            capsules, labels = inputs
        else:
            capsules = inputs
            labels = _longest(capsules, self.rank)
        masked = capsules * ops.cast(ops.expand_dims(labels, -1), capsules.dtype)
        return ops.reshape(masked, (-1, capsules.shape[1] * capsules.shape[2]))

    def compute_output_shape(self, input_shape):
        shape = _capsules_shape(input_shape)
        return (shape[0], shape[1] * shape[2])

    def get_config(self):
        config = super().get_config()
        if self.rank != 1:  # files of the paper's model stay as they were
            config["rank"] = self.rank
        return config


def _longest(capsules, rank=1):
    """One-hot `(batch, num_capsule)` of each example's `rank`-th longest capsule
    (the first, on a tie).

    Written without argmax: TensorFlow's argmax becomes a Bitcast that ONNX
    cannot run, and the exported models must mask as Keras does.
    """
    squared = ops.sum(ops.square(ops.cast(capsules, "float32")), axis=-1)
    for _ in range(rank - 1):  # set the longest aside (squared lengths are >= 0) and look again
        squared = ops.where(_first_max(squared) > 0, -ops.ones_like(squared), squared)
    return _first_max(squared)


def _first_max(squared):
    """One-hot int32 of the first largest value along the last axis."""
    is_max = ops.cast(squared >= ops.max(squared, axis=-1, keepdims=True), "int32")
    running = ops.cumsum(is_max, axis=-1)
    first = ops.cast(ops.equal(running, ops.ones_like(running)), "int32")  # not 1: see safe_norm
    return is_max * first


def _capsules_shape(input_shape):
    """The capsules' shape from either `shape` or `[shape, labels_shape]`.

    A reloaded model passes shapes as JSON lists, so a list of shapes is told
    from a shape by its first element.
    """
    if isinstance(input_shape[0], (list, tuple)):
        return input_shape[0]
    return input_shape
