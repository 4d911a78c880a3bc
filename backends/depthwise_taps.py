"""A 'valid' depthwise convolution as a weighted sum of its kernel's taps, in keras.ops.

Same result as `ops.depthwise_conv(x, kernel, strides=s, padding="valid")` to
float rounding. XLA's CPU code differentiates the depthwise convolution very
slowly: Efficient-CapsNet's 9x9 primary-capsule convolution on a 9x9x128 input
takes about 400 ms forward and backward for a batch of 64 on a 2-core CPU,
where the same sum written as one product takes 2 ms and torch's convolution
2.5 ms (docs/benchmarks.md). The views of the input under each tap are
strided slices, whose gradient is only padding, and the products with the
kernel are one einsum.
"""

from keras import ops


def tap_sum_depthwise_conv(inputs, kernel, strides):
    """Args: inputs `(batch, h, w, c)`, kernel `(k_h, k_w, c, m)`, int strides.

    Returns: `(batch, (h - k_h) // s + 1, (w - k_w) // s + 1, c * m)`, channel
    `i * m + j` being input channel `i` under its `j`-th filter, as in
    `ops.depthwise_conv`.
    """
    k_h, k_w, channels, multiplier = kernel.shape
    s = strides
    height, width = inputs.shape[1], inputs.shape[2]
    out_h = (height - k_h) // s + 1
    out_w = (width - k_w) // s + 1
    if (k_h, k_w) == (height, width):
        # The kernel covers the whole input (Efficient-CapsNet's primary
        # capsules): one output position, the input itself is its only view.
        features = ops.einsum("bhwc,hwcm->bcm", inputs, kernel)
    else:
        views = [
            inputs[:, dy : dy + s * (out_h - 1) + 1 : s, dx : dx + s * (out_w - 1) + 1 : s, :]
            for dy in range(k_h)
            for dx in range(k_w)
        ]
        taps = ops.stack(views, axis=3)  # (batch, out_h, out_w, k_h * k_w, c)
        features = ops.einsum(
            "bhwtc,tcm->bhwcm", taps, ops.reshape(kernel, (k_h * k_w, channels, multiplier))
        )
    return ops.reshape(features, (-1, out_h, out_w, channels * multiplier))
