"""Each fast path must equal the plain op it replaces (<= 1e-5)."""

import numpy as np
import pytest
from keras import ops

from capsnet.backends.depthwise_taps import tap_sum_depthwise_conv
from capsnet.backends.im2col import im2col_conv
from capsnet.layers.depthwise_primary_capsule import plain_depthwise_conv
from capsnet.layers.primary_capsule import plain_conv
from tests.helpers import gradient


def assert_same_gradients(fast_conv, x, w, strides, r, plain_conv=plain_conv):
    """`fast_conv`'s gradients of sum(conv * r) w.r.t. input and kernel equal `plain_conv`'s."""
    w_tensor, x_tensor = ops.convert_to_tensor(w), ops.convert_to_tensor(x)

    def input_gradient(conv):
        return gradient(lambda t: ops.sum(conv(t, w_tensor, strides) * r), x)

    def kernel_gradient(conv):
        return gradient(lambda k: ops.sum(conv(x_tensor, k, strides) * r), w)

    np.testing.assert_allclose(input_gradient(fast_conv), input_gradient(plain_conv), atol=1e-5)
    np.testing.assert_allclose(kernel_gradient(fast_conv), kernel_gradient(plain_conv), atol=1e-4)


@pytest.mark.parametrize(
    "shape, kernel, strides",
    [((2, 20, 20, 16), 9, 2), ((1, 21, 19, 3), 9, 2), ((2, 13, 13, 4), 3, 3), ((1, 8, 8, 2), 3, 1)],
)
def test_im2col_equals_strided_conv(rng, shape, kernel, strides):
    # Magnitudes as in the network: non-negative (post-ReLU) inputs, small weights.
    x = rng.random(size=shape).astype("float32")
    w = rng.normal(size=(kernel, kernel, shape[-1], 8)).astype("float32") * 0.02
    plain = ops.convert_to_numpy(plain_conv(x, w, strides))
    fast = ops.convert_to_numpy(im2col_conv(x, w, strides))
    assert fast.shape == plain.shape
    np.testing.assert_allclose(fast, plain, atol=1e-5)


@pytest.mark.parametrize(
    "shape, kernel, strides",
    [((2, 20, 20, 4), 9, 2), ((1, 21, 19, 3), 9, 2), ((2, 13, 13, 4), 3, 3), ((1, 8, 8, 2), 3, 1)],
)
def test_im2col_gradients(rng, shape, kernel, strides):
    """Its gradients, input and kernel, through the strided views and the one product."""
    x = rng.normal(size=shape).astype("float32")
    w = (rng.normal(size=(kernel, kernel, shape[-1], 8)) * 0.1).astype("float32")
    out_h, out_w = (shape[1] - kernel) // strides + 1, (shape[2] - kernel) // strides + 1
    r = ops.convert_to_tensor(rng.normal(size=(shape[0], out_h, out_w, 8)).astype("float32"))
    assert_same_gradients(im2col_conv, x, w, strides, r)


DEPTHWISE_CASES = [
    ((3, 9, 9, 16), 9, 1, 1),  # Efficient-CapsNet at 28x28: the kernel covers the input
    ((2, 13, 13, 8), 13, 1, 1),  # at 36x36 (MultiMNIST)
    ((2, 9, 7, 4), 9, 1, 2),  # covers the height only
    ((2, 12, 11, 3), 3, 2, 1),
    ((1, 10, 10, 2), 4, 3, 3),
]


@pytest.mark.parametrize("shape, kernel, strides, multiplier", DEPTHWISE_CASES)
def test_tap_sum_depthwise_conv_equals_the_plain_one(rng, shape, kernel, strides, multiplier):
    """Values and both gradients, with the plain op's channel order for multipliers > 1."""
    x = rng.normal(size=shape).astype("float32")
    w = (rng.normal(size=(kernel, min(kernel, shape[2]), shape[-1], multiplier)) * 0.1).astype("float32")
    plain = ops.convert_to_numpy(plain_depthwise_conv(x, w, strides))
    fast = ops.convert_to_numpy(tap_sum_depthwise_conv(x, w, strides))
    assert fast.shape == plain.shape
    np.testing.assert_allclose(fast, plain, atol=1e-5)
    r = ops.convert_to_tensor(rng.normal(size=plain.shape).astype("float32"))
    assert_same_gradients(tap_sum_depthwise_conv, x, w, strides, r, plain_depthwise_conv)


def test_depthwise_primary_capsules_use_the_registered_conv(rng):
    """The layer asks `capsnet.fast_ops` for "depthwise_conv" and gives the same capsules."""
    from capsnet import fast_ops
    from capsnet.layers import DepthwisePrimaryCapsule

    layer = DepthwisePrimaryCapsule(8, 9)
    x = rng.random(size=(2, 9, 9, 16)).astype("float32")
    calls = []

    def counted(inputs, kernel, strides):
        calls.append(strides)
        return tap_sum_depthwise_conv(inputs, kernel, strides)

    with fast_ops.restored_afterwards():
        fast_ops.unregister("depthwise_conv")
        plain = ops.convert_to_numpy(layer(x))
        fast_ops.register("depthwise_conv", counted)
        fast = ops.convert_to_numpy(layer(x))
    assert calls == [1]
    np.testing.assert_allclose(fast, plain, atol=1e-6)


# Each backend's own fast ops, by the name layers ask `capsnet.fast_ops` for (JAX's conv is im2col, above).
OWN_FAST_OPS = {
    "primary_conv": {"torch": "channels_last_conv", "tensorflow": "tap_gradient_conv"},
    "capsule_predictions": {"torch": "contiguous_predictions", "tensorflow": "matmul_predictions"},
    "relu_conv": {"tensorflow": "relu_conv"},
    "paired_products": {"tensorflow": "paired_products"},  # fft_conv's, not a fast_ops name
}


def own_fast_op(name):
    """The active backend's own implementation of op `name`, or skip."""
    import importlib

    import keras

    backend = keras.backend.backend()
    if backend not in OWN_FAST_OPS[name]:
        pytest.skip(f"no {name} fast path of its own on {backend}")
    return getattr(
        importlib.import_module(f"capsnet.backends.{backend}_fast_ops"), OWN_FAST_OPS[name][backend]
    )


@pytest.mark.parametrize(
    "shape, kernel, strides",
    [
        ((2, 20, 20, 16), 9, 2),
        ((1, 21, 19, 3), 9, 2),
        ((2, 13, 13, 4), 3, 3),
        ((1, 8, 8, 2), 3, 1),
        ((2, 11, 10, 3), 2, 3),
    ],
)
def test_backend_conv_equals_plain_conv_in_values_and_gradients(rng, shape, kernel, strides):
    """oneDNN's forward and input gradient, and the kernel gradient's row-by-row products."""
    conv = own_fast_op("primary_conv")
    x = rng.random(size=shape).astype("float32")
    w = (rng.normal(size=(kernel, kernel, shape[-1], 8)) * 0.02).astype("float32")
    out_h, out_w = (shape[1] - kernel) // strides + 1, (shape[2] - kernel) // strides + 1
    r = ops.convert_to_tensor(rng.normal(size=(shape[0], out_h, out_w, 8)).astype("float32"))
    plain = ops.convert_to_numpy(plain_conv(x, w, strides))
    fast = ops.convert_to_numpy(conv(x, w, strides))
    assert fast.shape == plain.shape == (shape[0], out_h, out_w, 8)
    np.testing.assert_allclose(fast, plain, atol=1e-5)
    assert_same_gradients(conv, x, w, strides, r)


def test_kernel_gradient_in_bfloat16_matches_float32(rng):
    """Under mixed_bfloat16 the row-by-row products run in bfloat16: within bfloat16's rounding."""
    import importlib

    import keras

    if keras.backend.backend() not in ("torch", "tensorflow"):
        pytest.skip("a torch and tensorflow fast path")
    module = importlib.import_module(f"capsnet.backends.{keras.backend.backend()}_fast_ops")
    x = rng.random(size=(2, 20, 20, 16)).astype("float32")
    g = rng.normal(size=(2, 6, 6, 8)).astype("float32")
    exact = ops.convert_to_numpy(
        module.kernel_gradient(ops.convert_to_tensor(x), ops.convert_to_tensor(g), 9, 2)
    )
    low = module.kernel_gradient(
        ops.convert_to_tensor(x, "bfloat16"), ops.convert_to_tensor(g, "bfloat16"), 9, 2
    )
    assert ops.dtype(low) == "bfloat16"
    np.testing.assert_allclose(
        ops.convert_to_numpy(ops.cast(low, "float32")), exact, atol=0.05 * np.abs(exact).max()
    )


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fast_predictions_equal_plain_einsum(rng, dtype):
    """The plain einsum's values in the same dtype, and (float32) both its gradients."""
    from capsnet.layers.capsule_layer import plain_predictions

    fast_op = own_fast_op("capsule_predictions")
    kernel = ops.convert_to_tensor(rng.normal(size=(36, 10, 16, 8)) * 0.1, dtype)
    inputs = ops.convert_to_tensor(rng.normal(size=(3, 36, 8)), dtype)
    r = ops.convert_to_tensor(rng.normal(size=(3, 10, 36, 16)), dtype)
    fast = fast_op(kernel, inputs)
    assert tuple(fast.shape) == (3, 10, 36, 16) and fast.dtype == kernel.dtype
    np.testing.assert_allclose(
        ops.convert_to_numpy(ops.cast(fast, "float32")),
        ops.convert_to_numpy(ops.cast(plain_predictions(kernel, inputs), "float32")),
        rtol=1e-6 if dtype == "float32" else 1e-2,
        atol=1e-6 if dtype == "float32" else 1e-2,
    )
    if dtype == "float32":
        for by in range(2):  # d/d kernel, then d/d inputs

            def objective(t, predictions, by=by):
                args = (t, inputs) if by == 0 else (kernel, t)
                return ops.sum(predictions(*args) * r)

            at = ops.convert_to_numpy((kernel, inputs)[by])
            np.testing.assert_allclose(
                gradient(lambda t: objective(t, fast_op), at),
                gradient(lambda t: objective(t, plain_predictions), at),
                rtol=1e-5,
                atol=1e-6,
            )


def test_torch_predictions_are_stored_contiguous(rng):
    """So that the routing's batched products read them without copying."""
    import keras

    if keras.backend.backend() != "torch":
        pytest.skip("a torch fast path")
    from capsnet.backends.torch_fast_ops import contiguous_predictions

    kernel = ops.convert_to_tensor(rng.normal(size=(36, 10, 16, 8)), "bfloat16")
    assert contiguous_predictions(kernel, ops.ones((3, 36, 8), "bfloat16")).is_contiguous()


def numpy_adam(w, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam (Kingma & Ba, 2015) as Keras states it, float64: (w, m, v) after `grads`."""
    w, m, v = w.astype(np.float64), np.zeros(w.shape), np.zeros(w.shape)
    for t, g in enumerate(grads, 1):
        m += (g - m) * (1 - beta_1)
        v += (np.square(g) - v) * (1 - beta_2)
        w -= lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w, m, v


def test_tensorflow_compiled_adam_equals_keras_adam_and_the_formula(rng):
    """Weights and both moments after a few steps: the compiled update's, Keras's own, numpy's."""
    import functools

    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tensorflow fast path")
    from capsnet.backends.tensorflow_fast_ops import compiled_adam_update_step

    init = rng.normal(size=(5, 3)).astype("float32")
    grads = [rng.normal(size=(5, 3)).astype("float32") for _ in range(4)]

    def train(update_step):
        weights = keras.Variable(init)
        optimizer = keras.optimizers.Adam(learning_rate=0.01)
        if update_step:
            optimizer.update_step = functools.partial(update_step, optimizer)
        for g in grads:
            optimizer.apply_gradients([(ops.convert_to_tensor(g), weights)])
        state = (weights, optimizer._momentums[0], optimizer._velocities[0])
        return [ops.convert_to_numpy(x) for x in state]

    compiled, plain = train(compiled_adam_update_step), train(None)
    assert not np.allclose(compiled[0], init)  # it did update
    for a, b, c in zip(compiled, plain, numpy_adam(init, grads, 0.01), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)  # float32 rounding (XLA fuses multiply-adds)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-7)


def test_training_compiles_with_the_registered_adam_update(fast_paths):
    """`compile_for_training` hands its Adam the backend's update where one is registered;
    the optimizer is still Keras's Adam to a saved file."""
    import keras

    from capsnet import fast_ops
    from capsnet.training import compile_for_training

    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(10)(inputs)
    model = keras.Model(inputs, [outputs, outputs])
    compile_for_training(model)
    registered = fast_ops.get("adam_update_step", None)
    update = model.optimizer.update_step
    assert getattr(update, "func", None) is registered if registered else not hasattr(update, "func")
    assert keras.saving.serialize_keras_object(model.optimizer)["class_name"] == "Adam"


RELU_CONV_CASES = [((2, 28, 28, 1), 9, 1), ((2, 13, 12, 3), 3, 2), ((1, 9, 9, 2), 4, 1)]


@pytest.mark.parametrize("shape, kernel, strides", RELU_CONV_CASES)
def test_backend_relu_conv_equals_plain_in_values_and_gradients(rng, shape, kernel, strides):
    """conv1's fast path: outputs and the input's, kernel's and bias's gradients."""
    assert_relu_conv_equals_plain(own_fast_op("relu_conv"), rng, shape, kernel, strides)


@pytest.mark.parametrize("shape, kernel, strides", RELU_CONV_CASES)
def test_im2col_relu_conv_equals_plain_in_values_and_gradients(rng, shape, kernel, strides):
    """JAX's conv1 and Efficient-CapsNet backbone on CPUs, checked on every backend."""
    from capsnet.backends.im2col import im2col_relu_conv

    assert_relu_conv_equals_plain(im2col_relu_conv, rng, shape, kernel, strides)


@pytest.mark.parametrize("shape, kernel, strides", RELU_CONV_CASES)
def test_tensorflow_relu_conv_uses_patches_for_one_channel(rng, shape, kernel, strides, monkeypatch):
    """The registered op: the patches' product for a one-channel input, Keras's conv for more."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tensorflow fast path")
    from capsnet.backends import tensorflow_fast_ops

    calls = []
    patches = tensorflow_fast_ops.relu_conv
    monkeypatch.setattr(tensorflow_fast_ops, "relu_conv", lambda *a: calls.append(1) or patches(*a))
    assert_relu_conv_equals_plain(tensorflow_fast_ops.one_channel_relu_conv, rng, shape, kernel, strides)
    assert bool(calls) == (shape[-1] == 1)


def assert_relu_conv_equals_plain(relu_conv, rng, shape, kernel, strides):
    """`relu_conv`'s outputs and its input's, kernel's and bias's gradients are `plain_relu_conv`'s."""
    from capsnet import backends
    from capsnet.layers.relu_conv import plain_relu_conv

    x = rng.random(size=shape).astype("float32")
    w = (rng.normal(size=(kernel, kernel, shape[-1], 8)) * 0.3).astype("float32")
    b = (rng.normal(size=(8,)) * 0.3).astype("float32")  # some outputs below zero, some above
    out_h, out_w = (shape[1] - kernel) // strides + 1, (shape[2] - kernel) // strides + 1
    r = ops.convert_to_tensor(rng.normal(size=(shape[0], out_h, out_w, 8)).astype("float32"))

    def run(conv):
        value, grads = backends.active().gradients(lambda *t: ops.sum(conv(*t, strides) * r), [x, w, b])
        outputs = ops.convert_to_numpy(conv(x, w, b, strides))
        return value, outputs, grads

    _, plain, plain_grads = run(plain_relu_conv)
    _, fast, fast_grads = run(relu_conv)
    assert fast.shape == plain.shape == (shape[0], out_h, out_w, 8)
    assert 0 < (plain > 0).mean() < 1
    np.testing.assert_allclose(fast, plain, atol=1e-5)
    for fast_grad, plain_grad in zip(fast_grads, plain_grads, strict=True):
        np.testing.assert_allclose(fast_grad, plain_grad, atol=1e-4)


def test_backend_relu_conv_in_bfloat16_is_as_near_float32_as_the_plain_op(rng):
    """Under mixed_bfloat16 its gradients are as far from float32's as the plain op's
    in bfloat16, 5-7% of the largest entry (mostly outputs near zero on the other side
    of ReLU). Not equal to them: how a bfloat16 product accumulates depends on the
    CPU (with native bfloat16 they were equal; on AVX2 alone TensorFlow's matmul and
    conv round differently)."""
    from capsnet import backends
    from capsnet.layers.relu_conv import plain_relu_conv

    relu_conv = own_fast_op("relu_conv")
    x = rng.random(size=(4, 28, 28, 1)).astype("float32")
    w = (rng.normal(size=(9, 9, 1, 16)) * 0.1).astype("float32")
    b = (rng.normal(size=(16,)) * 0.1).astype("float32")
    r = rng.normal(size=(4, 20, 20, 16)).astype("float32")

    def kernel_and_bias_gradients(conv, dtype):
        def objective(kernel, bias):
            outputs = conv(ops.cast(x, dtype), ops.cast(kernel, dtype), ops.cast(bias, dtype), 1)
            return ops.sum(ops.cast(outputs, "float32") * r)

        gradients = backends.active().gradients(objective, [w, b])[1]
        return [np.asarray(ops.convert_to_numpy(ops.cast(g, "float32"))) for g in gradients]

    exact = kernel_and_bias_gradients(plain_relu_conv, "float32")
    fast = kernel_and_bias_gradients(relu_conv, "bfloat16")
    plain = kernel_and_bias_gradients(plain_relu_conv, "bfloat16")
    for got, rounded, want in zip(fast, plain, exact, strict=True):
        scale = np.abs(want).max()
        fast_error, plain_error = np.abs(got - want).max() / scale, np.abs(rounded - want).max() / scale
        assert fast_error <= 1.1 * plain_error + 1e-3, (fast_error, plain_error)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_backend_paired_products_keep_fft_conv_and_its_gradients(rng, dtype):
    """The Fourier conv with the backend's paired products: the same outputs and
    input and kernel gradients as with the plain ones, in float32 and bfloat16."""
    from capsnet import backends
    from capsnet.backends.fft_conv import fft_conv

    paired_products = own_fast_op("paired_products")
    x = rng.random(size=(3, 20, 20, 8)).astype("float32")
    w = (rng.normal(size=(9, 9, 8, 16)) * 0.05).astype("float32")
    r = rng.normal(size=(3, 6, 6, 16)).astype("float32")

    def run(*products):
        def objective(inputs, kernel):
            outputs = fft_conv(ops.cast(inputs, dtype), ops.cast(kernel, dtype), 2, *products)
            return ops.sum(ops.cast(outputs, "float32") * r)

        outputs = fft_conv(ops.cast(x, dtype), ops.cast(w, dtype), 2, *products)
        return [ops.convert_to_numpy(ops.cast(outputs, "float32"))] + backends.active().gradients(
            objective, [x, w]
        )[1]

    for fast, plain in zip(run(paired_products), run(), strict=True):
        np.testing.assert_allclose(fast, plain, atol=1e-3 * np.abs(plain).max())
