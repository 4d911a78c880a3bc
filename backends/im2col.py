"""A strided 'valid' convolution as one matrix product (im2col), in keras.ops.

Same result as `ops.conv(x, kernel, strides=s, padding="valid")` to float
rounding. XLA's CPU convolution differentiates the 9x9 stride-2 PrimaryCaps
conv very slowly (21.7 s fwd+bwd for a batch of 100 here); gathering the 81
strided views of the input into patches and multiplying once by the kernel
takes 1.0 s, because XLA's CPU matrix product is far better tuned than its
convolution, and the backward of slicing is only padding (docs/benchmarks.md).
"""

from keras import ops


def im2col_conv(inputs, kernel, strides):
    """Args: inputs `(batch, h, w, c)`, kernel `(k, k, c, o)`, int strides.

    Returns: `(batch, (h - k) // s + 1, (w - k) // s + 1, o)`.
    """
    k_h, k_w, channels, filters = kernel.shape
    s = strides
    out_h = (inputs.shape[1] - k_h) // s + 1
    out_w = (inputs.shape[2] - k_w) // s + 1
    views = [
        inputs[:, dy : dy + s * (out_h - 1) + 1 : s, dx : dx + s * (out_w - 1) + 1 : s, :]
        for dy in range(k_h)
        for dx in range(k_w)
    ]
    patches = ops.concatenate(views, axis=-1)  # (batch, out_h, out_w, k_h * k_w * c)
    return ops.matmul(patches, ops.reshape(kernel, (k_h * k_w * channels, filters)))


def im2col_relu_conv(inputs, kernel, bias, strides):
    """`capsnet.layers.relu_conv.plain_relu_conv` through `im2col_conv`: relu(conv + bias).

    Args: inputs `(batch, h, w, c)`, kernel `(k, k, c, o)`, bias `(o,)`, int strides.

    Returns: `(batch, (h - k) // s + 1, (w - k) // s + 1, o)`.
    """
    return ops.relu(im2col_conv(inputs, kernel, strides) + bias)
