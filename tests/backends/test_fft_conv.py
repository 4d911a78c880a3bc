"""The PrimaryCaps conv through the Fourier domain (`backends/fft_conv.py`):
the numpy reference's values, the plain conv's gradients, bfloat16 within a
bfloat16 conv's own error, and the rule that picks it."""

import numpy as np
import pytest
from keras import ops

from capsnet.backends.fft_conv import fft_conv, fft_cost, fft_flops, fft_or
from tests import reference
from tests.backends.test_fast_paths import assert_same_gradients

SHAPES = [
    # (input shape, kernel (k_h, k_w), stride): PrimaryCaps-like, odd sizes that the
    # phases must pad or crop, strides 1 and 3, one tap per phase, a non-square kernel.
    ((2, 20, 20, 16), (9, 9), 2),
    ((1, 21, 19, 3), (9, 9), 2),
    ((2, 13, 13, 4), (3, 3), 3),
    ((1, 8, 8, 2), (3, 3), 1),
    ((2, 11, 10, 3), (2, 2), 3),
    ((1, 12, 15, 3), (5, 3), 2),
]


def reference_conv(x, w, stride):
    """numpy, float64: `reference.conv2d` (square kernels) or its sum over taps."""
    if w.shape[0] == w.shape[1]:
        return reference.conv2d(x.astype(np.float64), w.astype(np.float64), 0.0, stride)
    k_h, k_w = w.shape[:2]
    out_h, out_w = (x.shape[1] - k_h) // stride + 1, (x.shape[2] - k_w) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[-1]))
    for dy in range(k_h):
        for dx in range(k_w):
            view = x[
                :, dy : dy + stride * (out_h - 1) + 1 : stride, dx : dx + stride * (out_w - 1) + 1 : stride
            ]
            out += np.einsum("bhwc,co->bhwo", view.astype(np.float64), w[dy, dx].astype(np.float64))
    return out


@pytest.mark.parametrize("shape, kernel, stride", SHAPES)
def test_fft_conv_equals_the_reference_convolution(rng, shape, kernel, stride):
    # Magnitudes as in the network: non-negative (post-ReLU) inputs, small weights.
    x = rng.random(size=shape).astype("float32")
    w = (rng.normal(size=(*kernel, shape[-1], 8)) * 0.02).astype("float32")
    expected = reference_conv(x, w, stride)
    got = ops.convert_to_numpy(fft_conv(x, w, stride))
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-6)


@pytest.mark.parametrize("shape, kernel, stride", SHAPES)
def test_fft_conv_gradients_equal_the_plain_convs(rng, shape, kernel, stride):
    x = rng.normal(size=shape).astype("float32")
    w = (rng.normal(size=(*kernel, shape[-1], 8)) * 0.1).astype("float32")
    out_h, out_w = (shape[1] - kernel[0]) // stride + 1, (shape[2] - kernel[1]) // stride + 1
    r = ops.convert_to_tensor(rng.normal(size=(shape[0], out_h, out_w, 8)).astype("float32"))
    assert_same_gradients(fft_conv, x, w, stride, r)


def test_fft_conv_in_bfloat16_stays_within_a_few_bfloat16_roundings(rng):
    """Under mixed precision every product runs in bfloat16, so each spectrum is
    rounded too: its rms distance from the exact result stays within four bfloat16
    spacings (2^-8 each) of the outputs' rms. Measured 0.50% on jax and torch and
    1.18% on tensorflow on an AVX2 CPU without native bfloat16, where its bfloat16
    matmul rounds twice; the plain bfloat16 conv, rounded once, 0.28%."""
    x = np.maximum(rng.normal(size=(4, 20, 20, 64)), 0).astype("float32")
    w = rng.uniform(-0.03, 0.03, size=(9, 9, 64, 32)).astype("float32")
    exact = reference_conv(x, w, 2)

    low = fft_conv(ops.cast(x, "bfloat16"), ops.cast(w, "bfloat16"), 2)
    assert ops.dtype(low) == "bfloat16"
    error = np.sqrt(np.mean((ops.convert_to_numpy(ops.cast(low, "float32")) - exact) ** 2))
    assert error <= 4 * 2.0**-8 * np.sqrt(np.mean(exact**2))


def test_float16_spectra_stay_within_the_outputs_magnitude():
    """Outputs near 3,000 fit float16 (max 65,504); a spectrum 100x larger would not."""
    x = np.full((1, 20, 20, 64), 30.0)
    w = np.full((9, 9, 64, 8), 0.02)
    got = ops.convert_to_numpy(
        ops.cast(fft_conv(ops.cast(x, "float16"), ops.cast(w, "float16"), 2), "float32")
    )
    np.testing.assert_allclose(got, reference_conv(x, w, 2), rtol=2e-2)


def test_a_float32_kernel_follows_bfloat16_inputs(rng):
    """As in a layer under mixed precision: the result is in the inputs' dtype."""
    x = ops.convert_to_tensor(rng.random(size=(1, 20, 20, 4)), "bfloat16")
    w = ops.convert_to_tensor(rng.normal(size=(9, 9, 4, 8)) * 0.02, "float32")
    assert ops.dtype(fft_conv(x, w, 2)) == "bfloat16"


def test_fft_flops_count_the_products_fft_conv_runs(rng, monkeypatch):
    """`fft_flops`' forward count equals 2 m k n summed over every matrix product the
    conv actually makes (batch 4: the kernel's transform shared by 4 images)."""
    import capsnet.backends.fft_conv as module

    class CountingOps:
        flops = 0

        def __getattr__(self, name):
            return getattr(ops, name)

        def matmul(self, a, b):  # (..., m, k) @ (..., k, n)
            CountingOps.flops += 2 * int(np.prod(a.shape)) * b.shape[-1]
            return ops.matmul(a, b)

    monkeypatch.setattr(module, "ops", CountingOps())
    for shape, kernel, stride in SHAPES:
        CountingOps.flops = 0
        x = rng.random(size=(4, *shape[1:])).astype("float32")
        w = rng.random(size=(*kernel, shape[-1], 8)).astype("float32")
        module.fft_conv(x, w, stride)
        forward, _ = fft_flops(x.shape, w.shape, stride)
        assert CountingOps.flops == pytest.approx(4 * forward)


def test_fft_or_picks_the_fourier_path_only_where_it_is_cheaper(monkeypatch):
    """PrimaryCaps at batch 100 (and an open batch, taken as 100) goes through the
    Fourier domain; one image, or Conv1's single input channel, goes to the fallback."""
    import capsnet.backends.fft_conv as module

    calls = []
    monkeypatch.setattr(module, "fft_conv", lambda inputs, kernel, strides, products: calls.append("fft"))
    conv = fft_or(lambda inputs, kernel, strides: calls.append("fallback"))
    kernel = (9, 9, 256, 256)
    assert fft_cost((100, 20, 20, 256), kernel, 2) < 0.6 < fft_cost((1, 20, 20, 256), kernel, 2)
    assert fft_cost((None, 20, 20, 256), kernel, 2) == fft_cost((100, 20, 20, 256), kernel, 2)

    class Symbolic:  # like jax's shape-polymorphic batch (`export`): no truth value
        def __bool__(self):
            raise TypeError("a symbolic dimension")

    assert fft_cost((Symbolic(), 20, 20, 256), kernel, 2) == fft_cost((100, 20, 20, 256), kernel, 2)
    assert fft_cost((100, 28, 28, 1), (9, 9, 1, 256), 1) > 1

    class Shaped:  # only the shapes matter to the choice
        def __init__(self, *shape):
            self.shape = shape

    conv(Shaped(100, 20, 20, 256), Shaped(*kernel), 2)
    conv(Shaped(None, 20, 20, 256), Shaped(*kernel), 2)
    conv(Shaped(1, 20, 20, 256), Shaped(*kernel), 2)
    assert calls == ["fft", "fft", "fallback"]
    assert conv.flops((1, 20, 20, 256), kernel, 2) == (2 * 6 * 6 * 81 * 256 * 256, 4 * 6 * 6 * 81 * 256 * 256)
    assert conv.flops((100, 20, 20, 256), kernel, 2) == fft_flops((100, 20, 20, 256), kernel, 2)


def test_cpu_plugins_install_it_over_their_own_conv(fast_paths):
    from capsnet import backends, fast_ops

    if backends.active().on_gpu():
        pytest.skip("GPUs keep Keras's conv")
    assert fast_ops.get("primary_conv", None).__name__.startswith("fft_or_")
