"""Efficient-CapsNet's primary capsules: a depthwise convolution, grouped into capsules."""

import keras
from keras import ops

from capsnet import fast_ops
from capsnet.layers import validation
from capsnet.layers.squash import efficient_squash


def plain_depthwise_conv(inputs, kernel, strides):
    """The reference depthwise convolution (channels last, 'valid' padding).

    Args:
        inputs: `(batch, height, width, channels)`.
        kernel: `(k, k, channels, multiplier)`.
        strides: int.

    Returns:
        `(batch, out_height, out_width, channels * multiplier)`.
    """
    return ops.depthwise_conv(inputs, kernel, strides=strides, padding="valid")


@keras.saving.register_keras_serializable(package="capsnet")
class DepthwisePrimaryCapsule(keras.layers.Layer):
    """Depthwise convolution, then every `dim_capsule` outputs form one squashed capsule.

    Mazzia et al. (2021), section "Primary capsule layer": each input channel
    gets its own k x k filter (a depthwise convolution), so with the kernel as
    large as its input (9x9 on 9x9x128 in the paper) each channel is reduced
    to one number, and 128 numbers make 16 capsules of 8 dimensions, squashed
    with `efficient_squash` (their equation 3).

    The convolution is taken from `capsnet.fast_ops` under the name
    `"depthwise_conv"` (same signature as `plain_depthwise_conv`), so a
    backend plug-in can replace it with a faster equivalent.

    Args:
        dim_capsule: dimensions of each capsule (8 in the paper).
        kernel_size: square kernel side (9), at most the input's height and width.
        strides: convolution stride (1).

    Input shape:
        `(batch, height, width, channels)`; `out_height * out_width * channels`
        must be a multiple of `dim_capsule`, with `out_height = (height -
        kernel_size) // strides + 1` (likewise width).

    Output shape:
        `(batch, out_height * out_width * channels // dim_capsule, dim_capsule)`.

    Example:
        >>> caps = DepthwisePrimaryCapsule(8, 9)(keras.ops.ones((2, 9, 9, 128)))
        >>> tuple(caps.shape)
        (2, 16, 8)
    """

    def __init__(self, dim_capsule=8, kernel_size=9, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.dim_capsule = validation.positive_int("dim_capsule", dim_capsule)
        self.kernel_size = validation.positive_int("kernel_size", kernel_size)
        self.strides = validation.positive_int("strides", strides)

    def build(self, input_shape):
        out_height, out_width = self._grid(input_shape)
        channels = input_shape[3]
        if (out_height * out_width * channels) % self.dim_capsule:
            raise ValueError(
                f"DepthwisePrimaryCapsule: {out_height}x{out_width}x{channels} outputs do not split "
                f"into capsules of dim_capsule={self.dim_capsule}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, channels, 1),
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def _grid(self, input_shape):
        return validation.conv_grid("DepthwisePrimaryCapsule", input_shape, self.kernel_size, self.strides)

    def _num_capsules(self, input_shape):
        out_height, out_width = self._grid(input_shape)
        return out_height * out_width * input_shape[3] // self.dim_capsule

    def call(self, inputs):
        conv = fast_ops.get("depthwise_conv", plain_depthwise_conv)
        features = conv(inputs, self.kernel, self.strides) + self.bias
        capsules = ops.reshape(features, (-1, self._num_capsules(inputs.shape), self.dim_capsule))
        return efficient_squash(capsules)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._num_capsules(input_shape), self.dim_capsule)

    def get_config(self):
        return {
            **super().get_config(),
            "dim_capsule": self.dim_capsule,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
        }
