"""PrimaryCaps: a convolution whose channels are grouped into capsules."""

import keras
from keras import ops

from capsnet import fast_ops
from capsnet.layers import validation
from capsnet.layers.squash import squash


def plain_conv(inputs, kernel, strides):
    """The reference convolution (channels last, 'valid' padding).

    Args:
        inputs: `(batch, height, width, in_channels)`.
        kernel: `(k, k, in_channels, out_channels)`.
        strides: int.

    Returns:
        `(batch, out_height, out_width, out_channels)`.
    """
    return ops.conv(inputs, kernel, strides=strides, padding="valid")


@keras.saving.register_keras_serializable(package="capsnet")
class PrimaryCapsule(keras.layers.Layer):
    """Convolution, then every `dim_capsule` channels form one squashed capsule.

    With the paper's defaults a 20x20x256 input gives 6x6x32 = 1152 capsules of
    8 dimensions. The capsule count comes from static spatial shapes, so the
    batch size is free.

    The convolution is taken from `capsnet.fast_ops` under the name
    `"primary_conv"` (same signature as `plain_conv`), so a backend plug-in can
    replace it with a faster equivalent; the weights are the same either way.

    Args:
        num_channels: capsule types per position (32 in the paper).
        dim_capsule: dimensions of each capsule (8 in the paper).
        kernel_size: square kernel side (9).
        strides: convolution stride (2).

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, out_height * out_width * num_channels, dim_capsule)` with
        `out_height = (height - kernel_size) // strides + 1`, likewise width.

    Example:
        >>> caps = PrimaryCapsule()(keras.ops.ones((2, 20, 20, 256)))
        >>> tuple(caps.shape)
        (2, 1152, 8)
    """

    def __init__(self, num_channels=32, dim_capsule=8, kernel_size=9, strides=2, **kwargs):
        if "n_channels" in kwargs:  # the name in files saved by capsnet 0.1.0
            num_channels = kwargs.pop("n_channels")
        super().__init__(**kwargs)
        self.num_channels = validation.positive_int("num_channels", num_channels)
        self.dim_capsule = validation.positive_int("dim_capsule", dim_capsule)
        self.kernel_size = validation.positive_int("kernel_size", kernel_size)
        self.strides = validation.positive_int("strides", strides)

    def build(self, input_shape):
        self._grid(input_shape)  # checks the shape
        channels = input_shape[3]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, channels, self.num_channels * self.dim_capsule),
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_channels * self.dim_capsule,), initializer="zeros"
        )

    def _grid(self, input_shape):
        return validation.conv_grid("PrimaryCapsule", input_shape, self.kernel_size, self.strides)

    def call(self, inputs):
        conv = fast_ops.get("primary_conv", plain_conv)
        features = conv(inputs, self.kernel, self.strides) + self.bias
        out_height, out_width = self._grid(inputs.shape)
        n_capsules = out_height * out_width * self.num_channels
        return squash(ops.reshape(features, (-1, n_capsules, self.dim_capsule)))

    def compute_output_shape(self, input_shape):
        out_height, out_width = self._grid(input_shape)
        return (input_shape[0], out_height * out_width * self.num_channels, self.dim_capsule)

    def get_config(self):
        return {
            **super().get_config(),
            "num_channels": self.num_channels,
            "dim_capsule": self.dim_capsule,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
        }
