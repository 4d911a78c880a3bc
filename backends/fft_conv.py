"""A strided 'valid' convolution through the Fourier domain, in keras.ops.

Same result as `ops.conv(x, kernel, strides=s, padding="valid")` to float
rounding, with about a third of the multiplications for PrimaryCaps (9x9,
stride 2, 20x20 input, 6x6 output).

How: split the input and the kernel into their s x s stride phases. Phase
(p, q) of the input, `x[:, s*i + p, s*j + q]`, meets only phase (p, q) of the
kernel, and there the stride is 1, so the strided conv is the sum over phases
of stride-1 correlations: `n = out + taps - 1` samples of the input phase
against `taps = ceil(k / s)` of the kernel phase. A circular correlation of
length n gives exactly those `out` valid outputs (none of them wraps), and a
circular correlation is a product in the discrete Fourier domain. So each
frequency is one complex matrix product over (phase, input channel),
`(batch, s*s*c) @ (s*s*c, o)`, and a real signal needs only one frequency of
each conjugate pair (`half_spectrum`). For PrimaryCaps that is 52 products of
`(100, 1024) @ (1024, 256)` against im2col's one `(3600, 20736) @ (20736, 256)`:
10.9 against 38.2 GFLOP per batch of 100 (14.8 with the transforms), and about
the same ratio for both gradients.

The transforms are small real matrices (numpy constants) applied as products;
complex numbers are carried as (real, imaginary) pairs, so every backend runs
it and its gradient is automatic differentiation of plain products.

It does not pay everywhere: the transforms are dense matrices (their cost grows
with the square of the input's area) and the kernel's spectrum is paid once
per batch. `fft_or(conv)` uses it where `fft_cost` estimates at most
`CHEAPER` of the direct multiplications, and `conv` elsewhere.
"""

import collections
import functools

import numpy as np
from keras import ops

# Use the Fourier path only when its estimated cost is at most this share of the
# direct convolution's multiplications. Training PrimaryCaps (forward and both
# gradients) measured break-even near batch 32 on torch and JAX and 0.5-0.7x at 64
# (docs/benchmarks.md); this puts the line between them. tensorflow's own conv is
# slower: the Fourier one already won at batch 16 there (0.77x), so it gives away some.
CHEAPER = 0.6
# The transforms are skinny products (25 to 100 long) that write large outputs;
# they ran at about half the rate of the big products, so they count twice.
TRANSFORM_WEIGHT = 2
# The batch assumed when a traced shape leaves it open (`_batch`): capsnet's default.
DEFAULT_BATCH = 100


def plain_paired_products(shared, first, second, shared_on_left):
    """The two matrix products of one operand: `(shared @ first, shared @ second)`,
    or `(first @ shared, second @ shared)` unless `shared_on_left`; batched over
    leading axes as `ops.matmul`. A plug-in may pass its own to `fft_or` (the
    gradient of `shared` is a sum of two products)."""
    if shared_on_left:
        return ops.matmul(shared, first), ops.matmul(shared, second)
    return ops.matmul(first, shared), ops.matmul(second, shared)


def fft_or(conv, paired_products=plain_paired_products):
    """A conv with `fft_conv`'s signature: `fft_conv` where it is cheaper, else `conv`.

    `paired_products`: `fft_conv`'s (default `plain_paired_products`).
    Its `flops(input_shape, kernel_shape, strides)` gives the (forward, backward)
    FLOPs per image of whichever it picks, for `capsnet.flops` to count.
    """

    def fft_or_conv(inputs, kernel, strides):
        if fft_cost(inputs.shape, kernel.shape, strides) <= CHEAPER:
            return fft_conv(inputs, kernel, strides, paired_products)
        return conv(inputs, kernel, strides)

    def flops(input_shape, kernel_shape, strides):
        if fft_cost(input_shape, kernel_shape, strides) <= CHEAPER:
            return fft_flops(input_shape, kernel_shape, strides)
        direct = 2 * _multiply_adds(input_shape, kernel_shape, strides)["direct"]
        return direct, 2 * direct  # the input's and the kernel's gradient

    fft_or_conv.__name__ = f"fft_or_{conv.__name__}"
    fft_or_conv.flops = flops
    return fft_or_conv


def fft_cost(input_shape, kernel_shape, strides):
    """The estimated cost of `fft_conv` as a share of the direct conv's multiplications.

    Each transform counts `TRANSFORM_WEIGHT` times (see `_multiply_adds`).
    """
    n = _multiply_adds(input_shape, kernel_shape, strides)
    return (n["products"] + TRANSFORM_WEIGHT * n["transforms"]) / n["direct"]


def fft_flops(input_shape, kernel_shape, strides):
    """(forward, backward) FLOPs per image of `fft_conv`: the backward pass takes two
    products per frequency product (the input's and the kernel's gradient) and one
    per transform (its matrix is a constant)."""
    n = _multiply_adds(input_shape, kernel_shape, strides)
    return 2 * (n["products"] + n["transforms"]), 2 * (2 * n["products"] + n["transforms"])


def _multiply_adds(input_shape, kernel_shape, strides):
    """Multiply-adds per image: `direct` (the plain conv's, `out_h * out_w * k_h * k_w
    * c * o`); `fft_conv`'s `products` (4 real per complex one, over `freq`
    frequencies and `s*s*c` phases) and `transforms` (the input's and the
    output's per image, the kernel's once per batch)."""
    g = _geometry(input_shape, kernel_shape, strides)
    k_h, k_w, channels, filters = (int(d) for d in kernel_shape)
    freqs, phases = len(half_spectrum(g.n_h, g.n_w)[0]), g.phases
    outputs, taps = g.out_h * g.out_w, g.taps_h * g.taps_w
    return {
        "direct": outputs * k_h * k_w * channels * filters,
        "products": 4 * freqs * phases * filters,
        "transforms": 2 * freqs * (g.n_h * g.n_w * phases + 2 * outputs * filters)
        + 2 * freqs * taps * phases * filters / _batch(input_shape[0]),
    }


def _batch(dim):
    """A batch size to plan with: `DEFAULT_BATCH` where a traced shape leaves it open
    (None, or a symbol such as jax's shape-polymorphic `batch`, which has no truth value)."""
    return dim if isinstance(dim, int) and dim > 0 else DEFAULT_BATCH


# Per axis: output size, taps per kernel phase, samples per input phase
# (n = out + taps - 1); and the phases times the input channels.
Geometry = collections.namedtuple("Geometry", "out_h out_w taps_h taps_w n_h n_w phases")


def _geometry(input_shape, kernel_shape, strides):
    # int(): torch's tracer (ONNX export) hands over sizes as 0-d tensors.
    height, width, channels = (int(d) for d in input_shape[1:])
    k_h, k_w = int(kernel_shape[0]), int(kernel_shape[1])
    out_h, out_w = (height - k_h) // strides + 1, (width - k_w) // strides + 1
    taps_h, taps_w = -(-k_h // strides), -(-k_w // strides)
    n_h, n_w = out_h + taps_h - 1, out_w + taps_w - 1
    return Geometry(out_h, out_w, taps_h, taps_w, n_h, n_w, strides * strides * channels)


def fft_conv(inputs, kernel, strides, paired_products=plain_paired_products):
    """Args: inputs `(batch, h, w, c)`, kernel `(k_h, k_w, c, o)`, int strides;
    `paired_products` as `plain_paired_products`.

    Returns: `(batch, (h - k_h) // s + 1, (w - k_w) // s + 1, o)`, in the inputs' dtype.
    """
    k_h, k_w, channels, filters = (int(d) for d in kernel.shape)
    s = strides
    out_h, out_w, taps_h, taps_w, n_h, n_w, phases = _geometry(inputs.shape, kernel.shape, strides)
    # In the inputs' precision: under mixed_bfloat16 every product runs in bfloat16
    # (float32 transforms measured 0.61x the speed on torch for 1.43x instead of 1.56x
    # a bfloat16 conv's error).
    t = {k: ops.cast(v, inputs.dtype) for k, v in _transforms(n_h, n_w, taps_h, taps_w, out_h, out_w).items()}
    kernel = ops.cast(kernel, inputs.dtype)
    freqs = t["input"].shape[0] // 2

    # (n_h * n_w, batch * s*s*c): the input's stride phases, zero-padded to n samples where short.
    x = _crop_or_pad(inputs, s * n_h, s * n_w)
    x = ops.reshape(x, (-1, n_h, s, n_w, s, channels))
    x = ops.reshape(ops.transpose(x, (1, 3, 0, 2, 4, 5)), (n_h * n_w, -1))
    # (taps_h * taps_w, s*s*c * o): the kernel's stride phases, the same way.
    w = ops.pad(kernel, [[0, s * taps_h - k_h], [0, s * taps_w - k_w], [0, 0], [0, 0]])
    w = ops.reshape(w, (taps_h, s, taps_w, s, channels, filters))
    w = ops.reshape(ops.transpose(w, (0, 2, 1, 3, 4, 5)), (taps_h * taps_w, -1))

    # Every product below is a plain (batched) matrix product, laid out so none needs a transpose.
    x_freq = ops.reshape(ops.matmul(t["input"], x), (freqs, -1, phases))  # (freq, [Re; Im] x batch, s*s*c)
    w_re, w_im = paired_products(w, t["kernel_re"], t["kernel_im"], shared_on_left=False)
    w_re, w_im = (ops.reshape(p, (freqs, phases, filters)) for p in (w_re, w_im))
    # X * conj(W) = (Re X Re W + Im X Im W) + i (Im X Re W - Re X Im W): the four real
    # products come from two batched ones; the inverse transform adds them up.
    by_re, by_im = paired_products(x_freq, w_re, w_im, shared_on_left=True)
    by_re, by_im = (ops.reshape(p, (2 * freqs, -1)) for p in (by_re, by_im))  # (freq x [Re; Im], batch * o)
    y = ops.matmul(t["output_re"], by_re) + ops.matmul(t["output_im"], by_im)  # (out_h * out_w, batch * o)
    y = ops.reshape(y, (out_h, out_w, -1, filters))
    return ops.transpose(y, (2, 0, 1, 3))


def _crop_or_pad(inputs, height, width):
    """inputs `(batch, h, w, c)` cropped or zero-padded at the bottom and right to
    `(batch, height, width, c)`; untouched where they already have that size
    (PrimaryCaps' 20x20 does): TensorFlow runs a slice of the whole tensor as a
    copy, and its gradient as another, 5-8 ms of a CPU training step."""
    have_h, have_w = int(inputs.shape[1]), int(inputs.shape[2])
    if (have_h, have_w) == (height, width):
        return inputs
    cropped = inputs[:, : min(have_h, height), : min(have_w, width), :]
    return ops.pad(cropped, [[0, 0], [0, max(height - have_h, 0)], [0, max(width - have_w, 0)], [0, 0]])


@functools.cache
def half_spectrum(n_h, n_w):
    """One frequency of each conjugate pair of a real n_h x n_w signal's spectrum.

    Returns `(f_h, f_w, m)`, int arrays of the kept frequencies and how many
    frequencies each stands for: 1 if it is its own conjugate (f = -f modulo
    n on both axes), else 2. For 10 x 10 that is 52 frequencies of 100.
    """
    f_h, f_w = (a.ravel() for a in np.meshgrid(np.arange(n_h), np.arange(n_w), indexing="ij"))
    mirror_h, mirror_w = -f_h % n_h, -f_w % n_w
    keep = (f_w < mirror_w) | ((f_w == mirror_w) & (f_h <= mirror_h))
    own = (f_h == mirror_h) & (f_w == mirror_w)
    return f_h[keep], f_w[keep], np.where(own, 1, 2)[keep]


@functools.cache
def _transforms(n_h, n_w, taps_h, taps_w, out_h, out_w):
    """The DFT matrices, float32 (computed in float64, once per shape).

    The transform of a sample or tap at (i, j) to frequency (f_h, f_w) is
    e^(-i a), a = 2 pi (f_h i / n_h + f_w j / n_w), over `half_spectrum`.

    input `(freq x [Re, Im], n_h * n_w)`; kernel_re, kernel_im `(freq, taps)`;
    output_re, output_im `(out_h * out_w, freq x [Re X, Im X])`: the inverse real
    transform at the valid outputs only, applied to the products with Re W and
    with Im W.
    """
    f_h, f_w, m = half_spectrum(n_h, n_w)

    def angles(rows, cols):  # (freq, rows * cols)
        i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        return 2 * np.pi * (np.outer(f_h, i.ravel()) / n_h + np.outer(f_w, j.ravel()) / n_w)

    a_x, a_w, a_y = angles(n_h, n_w), angles(taps_h, taps_w), angles(out_h, out_w)
    # y = (1 / (n_h n_w)) sum_f m_f Re(Y_f e^(i a)) over the half spectrum. The 1 / (n_h n_w)
    # goes into the input's transform (its spectrum is then a mean, not a sum), so that no
    # spectrum exceeds the outputs' magnitude: float16 would overflow at 100x.
    m = m[:, None]
    cos_y, sin_y = (m * np.cos(a_y)).T, (m * np.sin(a_y)).T  # (outputs, freq)
    # Re Y = Re X Re W + Im X Im W and Im Y = Im X Re W - Re X Im W, and y = cos Re Y - sin Im Y:
    # the product with Re W meets [cos, -sin] of [Re X, Im X], the one with Im W meets [sin, cos].
    matrices = {
        "input": np.stack([np.cos(a_x), -np.sin(a_x)], 1).reshape(-1, n_h * n_w) / (n_h * n_w),
        "kernel_re": np.cos(a_w),
        "kernel_im": -np.sin(a_w),
        "output_re": np.stack([cos_y, -sin_y], -1).reshape(len(cos_y), -1),
        "output_im": np.stack([sin_y, cos_y], -1).reshape(len(cos_y), -1),
    }
    return {name: value.astype("float32") for name, value in matrices.items()}
