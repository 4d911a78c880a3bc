"""A strided 'valid' convolution rewritten as space-to-depth + stride-1 conv.

Same result as `ops.conv(x, kernel, strides=s, padding="valid")` (to float
rounding), built from keras.ops only. XLA's CPU code differentiates a 9x9
stride-2 convolution with respect to its input very slowly; the stride-1
form after folding each s x s block of pixels into channels is far faster
(measured in README "Benchmarks").
"""

from keras import ops


def space_to_depth_conv(inputs, kernel, strides):
    """Args: inputs `(batch, h, w, c)`, kernel `(k, k, c, o)`, int strides.

    Returns: `(batch, (h - k) // s + 1, (w - k) // s + 1, o)`.
    """
    s = strides
    if s == 1:
        return ops.conv(inputs, kernel, strides=1, padding="valid")
    k, _, channels, filters = kernel.shape
    _, height, width, _ = inputs.shape
    out_h, out_w = (height - k) // s + 1, (width - k) // s + 1
    folded_k = -(-k // s)  # kernel side after folding, ceil(k / s)
    # Pad the kernel to a multiple of s (zeros) and the image to cover it.
    kernel = ops.pad(kernel, [[0, folded_k * s - k], [0, folded_k * s - k], [0, 0], [0, 0]])
    need_h, need_w = (out_h - 1 + folded_k) * s, (out_w - 1 + folded_k) * s
    inputs = inputs[:, : min(height, need_h), : min(width, need_w)]
    inputs = ops.pad(
        inputs,
        [[0, 0], [0, max(0, need_h - height)], [0, max(0, need_w - width)], [0, 0]],
    )
    blocks_h, blocks_w = need_h // s, need_w // s
    x = ops.reshape(inputs, (-1, blocks_h, s, blocks_w, s, channels))
    x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, blocks_h, blocks_w, s * s * channels))
    w = ops.reshape(kernel, (folded_k, s, folded_k, s, channels, filters))
    w = ops.reshape(ops.transpose(w, (0, 2, 1, 3, 4, 5)), (folded_k, folded_k, s * s * channels, filters))
    return ops.conv(x, w, strides=1, padding="valid")
