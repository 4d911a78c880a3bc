"""conv1: a Keras Conv2D with ReLU whose op a backend plug-in can swap for a faster one."""

import keras
from keras import ops

from capsnet import fast_ops


def plain_relu_conv(inputs, kernel, bias, strides):
    """relu(conv(inputs, kernel) + bias), channels last, 'valid' padding.

    Args:
        inputs: `(batch, height, width, in_channels)`.
        kernel: `(k_h, k_w, in_channels, out_channels)`.
        bias: `(out_channels,)`.
        strides: int.

    Returns:
        `(batch, (height - k_h) // strides + 1, (width - k_w) // strides + 1, out_channels)`.
    """
    return ops.relu(ops.conv(inputs, kernel, strides=strides, padding="valid") + bias)


@keras.saving.register_keras_serializable(package="capsnet")
class ReLUConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` with `activation="relu"` by default: CapsNet's conv1.

    Same arguments, weights and outputs as Conv2D. Where the layer is the plain
    case `plain_relu_conv` computes (ReLU, bias, 'valid' padding, equal strides,
    no dilation, one group, channels last), the op is taken from
    `capsnet.fast_ops` under the name `"relu_conv"` (same signature), so a
    backend plug-in can replace it; elsewhere it is Conv2D's own call. Files
    saved with a plain Conv2D conv1 load as they were.

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, out_height, out_width, filters)`.

    Example:
        >>> conv1 = ReLUConv2D(256, 9, name="conv1")
        >>> tuple(conv1(keras.ops.ones((2, 28, 28, 1))).shape)
        (2, 20, 20, 256)
    """

    def __init__(self, filters, kernel_size, activation="relu", **kwargs):
        super().__init__(filters, kernel_size, activation=activation, **kwargs)

    def _is_plain_case(self):
        return (
            self.activation is keras.activations.relu
            and self.use_bias
            and self.padding == "valid"
            and self.strides[0] == self.strides[1]
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
        )

    def call(self, inputs):
        if not self._is_plain_case():
            return super().call(inputs)
        relu_conv = fast_ops.get("relu_conv", plain_relu_conv)
        return relu_conv(inputs, self.kernel, self.bias, self.strides[0])
