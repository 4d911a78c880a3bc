"""TensorFlow fast paths, measured on CPUs (docs/benchmarks.md): the PrimaryCaps
convolution with a faster kernel gradient (and the Fourier one's products with
a faster gradient sum in bfloat16), conv1 with a faster backward pass,
DigitCaps predictions as one batched matrix product, and Adam's update compiled
into one pass."""

import keras
import numpy as np
import tensorflow as tf

from capsnet.backends.fft_conv import plain_paired_products
from capsnet.layers.relu_conv import plain_relu_conv


def matmul_predictions(kernel, inputs):
    """`capsnet.layers.capsule_layer.plain_predictions` as a batched matrix product.

    kernel `(n_in, n_out, dim, in_dim)`, inputs `(batch, n_in, in_dim)` ->
    `(batch, n_out, n_in, dim)`. TensorFlow's einsum takes about twice as long
    here, forward and backward, for the same products.
    """
    kernel = keras.ops.convert_to_tensor(kernel)  # the compute dtype under mixed precision
    inputs = keras.ops.convert_to_tensor(inputs)
    n_in, n_out, dim, in_dim = kernel.shape
    by_input = tf.reshape(tf.transpose(kernel, (0, 3, 1, 2)), (n_in, in_dim, n_out * dim))
    products = tf.matmul(tf.transpose(inputs, (1, 0, 2)), by_input)  # (n_in, batch, n_out * dim)
    products = tf.reshape(products, (n_in, -1, n_out, dim))
    return tf.transpose(products, (1, 2, 0, 3))


def tap_gradient_conv(inputs, kernel, strides):
    """`capsnet.layers.primary_capsule.plain_conv` on TensorFlow: inputs
    `(batch, h, w, c)`, kernel `(k, k, c, o)`, 'valid' padding -> `(batch, h', w', o)`.

    oneDNN computes the forward pass and the input's gradient; the kernel's
    gradient is `kernel_gradient`.
    """
    inputs = keras.ops.convert_to_tensor(inputs)
    # The compute dtype under mixed precision. `identity` reads a float32
    # variable into a tensor: custom_gradient must not see the variable itself.
    kernel = tf.identity(keras.ops.convert_to_tensor(kernel))
    strides = int(strides)

    @tf.custom_gradient
    def conv(x, w):
        def grad(d_outputs):
            d_inputs = tf.nn.conv2d_transpose(d_outputs, w, tf.shape(x), strides, padding="VALID")
            return d_inputs, kernel_gradient(x, d_outputs, w.shape[0], strides)

        return tf.nn.conv2d(x, w, strides, padding="VALID"), grad

    return conv(inputs, kernel)


def kernel_gradient(inputs, grad, size, strides):
    """d loss / d kernel `(k, k, c, o)` of a 'valid' conv, from inputs `(batch, h, w, c)`
    and d loss / d outputs `(batch, h', w', o)`.

    One matrix product per kernel row, as torch's (`torch_fast_ops.kernel_gradient`).
    TensorFlow's strided slices are slow, so the taps come from the input split
    into its s x s stride phases first: tap (kh, kw) at stride s is the
    unit-stride window (kh // s, kw // s) of phase (kh % s, kw % s). oneDNN's
    kernel gradient for the 9x9 stride-2 PrimaryCaps conv ran 1.2x (float32)
    and 1.5x (bfloat16) slower on a 2-core AVX512 CPU.
    """
    s = strides
    height, width, in_c = inputs.shape[1:]
    out_h, out_w, out_c = grad.shape[1:]
    pad_h, pad_w = -height % s, -width % s
    x = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    x = tf.reshape(x, [-1, (height + pad_h) // s, s, (width + pad_w) // s, s, in_c])
    phases = tf.transpose(x, (2, 4, 0, 1, 3, 5))  # (s, s, batch, h / s, w / s, c)
    rows = tf.reshape(grad, (-1, out_c))
    per_row = []
    for kh in range(size):
        a = kh // s
        taps = [phases[kh % s, kw % s, :, a : a + out_h, kw // s : kw // s + out_w, :] for kw in range(size)]
        taps = tf.reshape(tf.concat(taps, axis=-1), (-1, size * in_c))  # (batch * h' * w', k * c)
        per_row.append(tf.matmul(taps, rows, transpose_a=True))
    return tf.reshape(tf.stack(per_row), (size, size, in_c, out_c))


def one_channel_relu_conv(inputs, kernel, bias, strides):
    """`relu_conv` on a one-channel input (CapsNet's conv1), Keras's own conv elsewhere.

    The patches' product pays where the input has one channel: its patches are
    `k_h k_w + 1` numbers a position. On Efficient-CapsNet's backbone (3x3 on 32
    and 64 channels: 289 and 577) it made the training step twice as slow
    (results/bench-cpu/relu-conv-backbones/).
    """
    if kernel.shape[2] == 1:
        return relu_conv(inputs, kernel, bias, strides)
    return plain_relu_conv(inputs, kernel, bias, strides)


def relu_conv(inputs, kernel, bias, strides):
    """`capsnet.layers.relu_conv.plain_relu_conv` on TensorFlow: inputs `(batch, h, w, c)`,
    kernel `(k_h, k_w, c, o)`, bias `(o,)`, 'valid' padding -> `(batch, h', w', o)`.

    The forward pass is oneDNN's fused conv + bias + ReLU, as Keras's. The backward
    pass: ReLU's gradient compiled by XLA (TensorFlow's own ran at a third of
    memory speed in bfloat16), and the kernel's and bias's gradients as one
    matrix product of the input's patches, `(k_h k_w c + 1, n) @ (n, o)`, the
    patches from a conv with an identity kernel and a row of ones for the bias.
    For conv1 (9x9, 1 channel, 28x28) TensorFlow's kernel gradient runs barely
    faster in bfloat16 than in float32; this one runs at matrix-product rates.
    """
    inputs = keras.ops.convert_to_tensor(inputs)
    # The compute dtype under mixed precision; `identity`: custom_gradient must
    # see tensors, not the float32 variables.
    kernel = tf.identity(keras.ops.convert_to_tensor(kernel))
    bias = tf.identity(keras.ops.convert_to_tensor(bias))
    strides = int(strides)
    k_h, k_w, channels, filters = kernel.shape
    taps = k_h * k_w * channels
    # (k_h, k_w, c, taps + 1): tap t of the patch in channel t; channel `taps` is the bias's 1.
    identity = np.eye(taps, taps + 1).reshape(k_h, k_w, channels, taps + 1)
    ones = np.eye(1, taps + 1, taps)[0]

    @tf.custom_gradient
    def conv(x, w, b):
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, strides, padding="VALID"), b))

        def grad(d_outputs):
            d_pre = _relu_gradient(d_outputs, y)
            d_inputs = tf.nn.conv2d_transpose(d_pre, w, tf.shape(x), strides, padding="VALID")
            patches = tf.nn.conv2d(x, tf.constant(identity, x.dtype), strides, padding="VALID")
            patches = tf.nn.bias_add(patches, tf.constant(ones, x.dtype))
            patches = tf.transpose(tf.reshape(patches, (-1, taps + 1)))  # (taps + 1, n)
            d_weights = tf.matmul(patches, tf.reshape(d_pre, (-1, filters)))  # (taps + 1, o)
            return d_inputs, tf.reshape(d_weights[:taps], (k_h, k_w, channels, filters)), d_weights[taps]

        return y, grad

    return conv(inputs, kernel, bias)


@tf.function(jit_compile=True, autograph=False)
def _relu_gradient(d_outputs, outputs):
    """d loss / d (pre-ReLU) from d loss / d outputs and the outputs, both `(...)`."""
    return tf.where(outputs > 0, d_outputs, tf.zeros_like(d_outputs))


def paired_products(shared, first, second, shared_on_left):
    """`capsnet.backends.fft_conv.plain_paired_products` on TensorFlow.

    In bfloat16 the gradient of `shared`, a sum of two products, is added by
    XLA: TensorFlow's own sum (AddN) of two bfloat16 tensors ran at about a third
    of its float32 speed, 6 and 5 ms of a PrimaryCaps training step for the
    Fourier conv's two. Elsewhere TensorFlow's own gradient (XLA's sum was slower
    in float32).
    """
    if shared.dtype != tf.bfloat16:
        return plain_paired_products(shared, first, second, shared_on_left)
    side = 0 if shared_on_left else 1  # where `shared` sits in each (left, right) pair

    @tf.custom_gradient
    def products(a, b, c):
        pairs = [(a, b), (a, c)] if shared_on_left else [(b, a), (c, a)]

        def grad(*d_products):
            (d_first, d_second) = (
                _matmul_gradients(d, *pair) for d, pair in zip(d_products, pairs, strict=True)
            )
            return _sum(d_first[side], d_second[side]), d_first[1 - side], d_second[1 - side]

        return tuple(tf.matmul(left, right) for left, right in pairs), grad

    return products(shared, first, second)


def _matmul_gradients(d_product, left, right):
    """(d loss / d left, d loss / d right) of `left @ right` from d loss / d product."""
    return tf.matmul(d_product, right, transpose_b=True), tf.matmul(left, d_product, transpose_a=True)


@tf.function(jit_compile=True, autograph=False)
def _sum(a, b):
    return a + b


def compiled_adam_update_step(optimizer, gradient, variable, learning_rate):
    """`keras.optimizers.Adam.update_step`, its ops compiled together by XLA.

    Keras runs Adam's update as about ten ops per variable, each a pass over it:
    23 ms of a CPU training step at batch 100 for CapsNet's 8.2M weights. XLA
    fuses them into one loop that updates m, v and the variable in place.
    Keras's own update where this does not apply: AMSGrad, and inside a
    tf.distribute strategy (its variables are per-replica there).
    """
    if optimizer.amsgrad or tf.distribute.has_strategy():
        return keras.optimizers.Adam.update_step(optimizer, gradient, variable, learning_rate)
    index = optimizer._get_variable_index(variable)
    m, v = optimizer._momentums[index], optimizer._velocities[index]
    dtype = variable.dtype
    # The constants as Keras forms them: 1 - beta in Python, then cast.
    constants = (learning_rate, optimizer.iterations + 1, optimizer.beta_1, optimizer.beta_2)
    constants += (1 - optimizer.beta_1, 1 - optimizer.beta_2, optimizer.epsilon)
    # A new function each time (the update is traced once per variable into the
    # training step): a shared one would keep traces of another model's variables.
    in_place = tf.function(_adam_in_place, jit_compile=True, autograph=False)
    in_place(
        _tf_variable(variable),
        _tf_variable(m),
        _tf_variable(v),
        tf.cast(gradient, dtype),
        *(tf.cast(c, dtype) for c in constants),
    )


def _adam_in_place(variable, m, v, g, lr, step, beta_1, beta_2, one_minus_beta_1, one_minus_beta_2, eps):
    """Keras's Adam arithmetic, in its order (keras/src/optimizers/adam.py)."""
    alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
    m.assign_add((g - m) * one_minus_beta_1)
    v.assign_add((tf.square(g) - v) * one_minus_beta_2)
    variable.assign_sub((m * alpha) / (tf.sqrt(v) + eps))


def _tf_variable(variable):
    """The tf.Variable of a Keras variable (or the tf.Variable itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable
