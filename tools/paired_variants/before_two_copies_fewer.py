"""The two ops as they were before a83625a, for tools.paired_bench's `run=`:
fft_conv slicing and padding its input even where that changes nothing, and
the routing gradient's terms stacked on the last axis."""

from keras import ops

from capsnet.backends import fft_conv
from capsnet.layers import routing


def _crop_or_pad(inputs, height, width):
    h, w = min(int(inputs.shape[1]), height), min(int(inputs.shape[2]), width)
    return ops.pad(inputs[:, :h, :w, :], [[0, 0], [0, height - h], [0, width - w], [0, 0]])


def sum_of_outer_products(weights, vectors, dtype):
    weights = ops.cast(ops.stack(weights, axis=-1), dtype)
    vectors = ops.cast(ops.stack(vectors, axis=2), dtype)
    return ops.matmul(weights, vectors)


fft_conv._crop_or_pad = _crop_or_pad
routing.sum_of_outer_products = sum_of_outer_products
