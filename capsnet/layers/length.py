"""Capsule lengths: the class scores of a CapsNet."""

import keras

from capsnet.layers import validation
from capsnet.layers.safe_norm import safe_norm


@keras.saving.register_keras_serializable(package="capsnet")
class Length(keras.layers.Layer):
    """The Euclidean length of each capsule, computed and returned in float32.

    Exact for capsules of any length, however small (no epsilon floor: see
    `safe_norm`); a zero capsule has length 0 and a finite gradient.

    Input shape:
        `(batch, num_capsule, dim_capsule)`.

    Output shape:
        `(batch, num_capsule)`, float32.
    """

    def build(self, input_shape):
        validation.rank("Length", input_shape, 3, "(batch, num_capsule, dim_capsule)")

    def call(self, inputs):
        return safe_norm(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape[:-1], dtype="float32")
