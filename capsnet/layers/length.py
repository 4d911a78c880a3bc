"""Capsule lengths: the class scores of a CapsNet."""

import keras
from keras import ops

from capsnet.layers import validation

LENGTH_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="capsnet")
class Length(keras.layers.Layer):
    """The Euclidean length of each capsule, computed and returned in float32.

    A small epsilon inside the square root keeps the gradient finite for a
    zero capsule.

    Input shape:
        `(batch, num_capsule, dim_capsule)`.

    Output shape:
        `(batch, num_capsule)`, float32.
    """

    def build(self, input_shape):
        validation.rank("Length", input_shape, 3, "(batch, num_capsule, dim_capsule)")

    def call(self, inputs):
        squares = ops.square(ops.cast(inputs, "float32"))
        return ops.sqrt(ops.sum(squares, axis=-1) + LENGTH_EPSILON)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape[:-1], dtype="float32")
