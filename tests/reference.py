"""Independent numpy implementations of the paper's equations, for the tests.

Written from the paper, not from capsnet's code: loops and plain numpy, so a
mistake in capsnet cannot be copied here.
"""

import numpy as np


def squash(s, axis=-1):
    norm = np.sqrt(np.sum(s.astype(np.float64) ** 2, axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (norm**2 / (1 + norm**2)) * s / norm
    return np.nan_to_num(out)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def dynamic_routing(u, W, routings):
    """Procedure 1 of Sabour et al. (2017), one example at a time.

    Args:
        u: (batch, n_in, in_dim) input capsules.
        W: (n_in, n_out, out_dim, in_dim) transformation matrices.

    Returns:
        v: (batch, n_out, out_dim) and the last coupling c: (batch, n_in, n_out).
    """
    u = u.astype(np.float64)
    W = W.astype(np.float64)
    batch, n_in, _ = u.shape
    n_out, out_dim = W.shape[1], W.shape[2]
    v_all = np.zeros((batch, n_out, out_dim))
    c_all = np.zeros((batch, n_in, n_out))
    for b in range(batch):
        u_hat = np.zeros((n_in, n_out, out_dim))
        for i in range(n_in):
            for j in range(n_out):
                u_hat[i, j] = W[i, j] @ u[b, i]
        logits = np.zeros((n_in, n_out))
        for r in range(routings):
            c = softmax(logits, axis=1)
            s = np.array([sum(c[i, j] * u_hat[i, j] for i in range(n_in)) for j in range(n_out)])
            v = squash(s)
            if r < routings - 1:
                for i in range(n_in):
                    for j in range(n_out):
                        logits[i, j] += u_hat[i, j] @ v[j]
        v_all[b], c_all[b] = v, c
    return v_all, c_all


def margin_loss(T, lengths, m_plus=0.9, m_minus=0.1, lam=0.5):
    per_class = (
        T * np.maximum(0, m_plus - lengths) ** 2 + lam * (1 - T) * np.maximum(0, lengths - m_minus) ** 2
    )
    return per_class.sum(axis=1).mean()


def shift(image, down, right):
    """Move an (h, w, c) image down/right by whole pixels, zero filled."""
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    for y in range(h):
        for x in range(w):
            sy, sx = y - down, x - right
            if 0 <= sy < h and 0 <= sx < w:
                out[y, x] = image[sy, sx]
    return out


# ---------------------------------------------------------------------------
# The whole network of Sabour et al. (2017), section 4, in float64.
#
# Layout conventions (not mathematics, so they must match the model's
# storage): images and feature maps are (height, width, channels); conv
# kernels are (k, k, in, out); the PrimaryCaps feature map (6, 6, 256) is read
# as capsules in row-major order (y, x, channel), each run of `dim_primary_capsule`
# consecutive channels being one capsule; Dense kernels are (in, out).


def conv2d(x, kernel, bias, stride):
    """'valid' convolution of (batch, h, w, c) by (k, k, c, f), plus bias."""
    k = kernel.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # (batch, oh, ow, c, k, k)
    batch, oh, ow = windows.shape[:3]
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(batch * oh * ow, -1)
    out = patches @ kernel.reshape(-1, kernel.shape[-1]) + bias
    return out.reshape(batch, oh, ow, -1)


def routing(u, W, routings):
    """Procedure 1 for a whole batch at once (same maths as `dynamic_routing`).

    Args:
        u: (batch, n_in, in_dim); W: (n_in, n_out, out_dim, in_dim).

    Returns:
        v: (batch, n_out, out_dim).
    """
    u_hat = np.einsum("ijed,bid->bije", W, u)
    b = np.zeros(u_hat.shape[:3])
    for r in range(routings):
        c = softmax(b, axis=2)
        v = squash(np.einsum("bij,bije->bje", c, u_hat))
        if r < routings - 1:
            b = b + np.einsum("bije,bje->bij", u_hat, v)
    return v


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def capsnet(images, T, weights, routings=3, dim_primary_capsule=8):
    """Forward pass and loss of the paper's CapsNet, decoder masked by T.

    Args:
        images: (batch, h, w, c) in [0, 1].
        T: (batch, num_classes) one-hot labels.
        weights: dict of float arrays: conv1_kernel, conv1_bias, primary_kernel,
            primary_bias, W, and dense{1,2,3}_{kernel,bias}.

    Returns:
        dict with primary (batch, n_in, dim_primary_capsule), digit (batch, num_classes,
        16), lengths (batch, num_classes), reconstruction (like images) and loss:
        mean over the batch of margin loss + 0.0005 x sum of squared errors.
    """
    w = {name: np.asarray(value, np.float64) for name, value in weights.items()}
    x = np.asarray(images, np.float64)
    batch = x.shape[0]
    conv1 = relu(conv2d(x, w["conv1_kernel"], w["conv1_bias"], 1))
    features = conv2d(conv1, w["primary_kernel"], w["primary_bias"], 2)
    primary = squash(features.reshape(batch, -1, dim_primary_capsule))
    return {"primary": primary, **from_primary_capsules(primary, x, T, w, routings)}


def from_primary_capsules(primary, images, T, weights, routings=3):
    """The network from the primary capsules on: DigitCaps, lengths, decoder, loss."""
    w = {name: np.asarray(value, np.float64) for name, value in weights.items()}
    T = np.asarray(T, np.float64)
    digit = routing(primary, w["W"], routings)
    return _decoded(digit, images, T, w)


# ---------------------------------------------------------------------------
# Efficient-CapsNet (Mazzia, Salvetti & Chiaberge, 2021), in float64, written
# from the paper's equations 3-7: the explicit attention matrices, one
# example and one output capsule at a time.


def efficient_squash(s, axis=-1):
    """Equation 3: (1 - 1/e^|s|) s/|s|, and 0 at s = 0 (1 - 1/e^n as
    -expm1(-n), which float64 keeps exact for tiny n)."""
    s = np.asarray(s, np.float64)
    norm = np.sqrt(np.sum(s**2, axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = -np.expm1(-norm) * s / norm
    return np.where(norm > 0, out, 0.0)


def self_attention_routing(u, W, B):
    """Equations 4-7 of Mazzia et al. (2021).

    Args:
        u: (batch, n_in, in_dim) input capsules.
        W: (n_in, n_out, out_dim, in_dim) transformation matrices.
        B: (n_in, n_out) log priors.

    Returns:
        v: (batch, n_out, out_dim) and the coupling c: (batch, n_in, n_out)
        (before the priors are added).
    """
    u, W, B = (np.asarray(a, np.float64) for a in (u, W, B))
    batch, n_in, _ = u.shape
    n_out, out_dim = W.shape[1], W.shape[2]
    v_all = np.zeros((batch, n_out, out_dim))
    c_all = np.zeros((batch, n_in, n_out))
    for b in range(batch):
        u_hat = np.array([[W[i, j] @ u[b, i] for j in range(n_out)] for i in range(n_in)])
        agreement = np.zeros((n_in, n_out))
        for j in range(n_out):
            U = u_hat[:, j, :]  # (n_in, out_dim)
            A = U @ U.T / np.sqrt(out_dim)  # equation 5
            agreement[:, j] = A.sum(axis=1)
        c = softmax(agreement, axis=1)  # equation 6, over the output capsules
        s = np.array([sum(u_hat[i, j] * (c[i, j] + B[i, j]) for i in range(n_in)) for j in range(n_out)])
        v_all[b], c_all[b] = efficient_squash(s), c  # equation 7
    return v_all, c_all


def depthwise_conv2d(x, kernel, bias, stride=1):
    """'valid' depthwise convolution of (batch, h, w, c) by (k, k, c, 1), plus bias."""
    k = kernel.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # (batch, oh, ow, c, k, k)
    return np.einsum("bhwcyx,yxc->bhwc", windows, kernel[..., 0]) + bias


def batch_norm(x, gamma, beta, mean, variance, epsilon=1e-3):
    """Batch normalisation at inference: the moving statistics, per channel."""
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def efficient_capsnet(images, T, weights, dim_primary_capsule=8, primary_stride=1):
    """Forward pass and loss of the paper's Efficient-CapsNet (inference-mode
    batch normalisation), decoder masked by T. The primary kernel's size comes
    from `weights`; one smaller than the grid, or `primary_stride` > 1, leaves a
    grid of positions whose capsules follow in row-major order.

    Args:
        images: (batch, 28, 28, 1) in [0, 1].
        T: (batch, num_classes) one-hot labels.
        weights: conv{1..4}_{kernel,bias}, bn{1..4}_{gamma,beta,mean,variance},
            primary_kernel (9, 9, 128, 1), primary_bias, W, B and
            dense{1,2,3}_{kernel,bias}.

    Returns:
        dict with primary, digit, lengths, reconstruction and loss (as `capsnet`).
    """
    w = {name: np.asarray(value, np.float64) for name, value in weights.items()}
    x = np.asarray(images, np.float64)
    batch = x.shape[0]
    features = x
    for n, stride in enumerate((1, 1, 1, 2), start=1):
        features = relu(conv2d(features, w[f"conv{n}_kernel"], w[f"conv{n}_bias"], stride))
        features = batch_norm(features, *(w[f"bn{n}_{p}"] for p in ("gamma", "beta", "mean", "variance")))
    primary = depthwise_conv2d(features, w["primary_kernel"], w["primary_bias"], primary_stride)
    primary = efficient_squash(primary.reshape(batch, -1, dim_primary_capsule))
    digit, _ = self_attention_routing(primary, w["W"], w["B"])
    return {"primary": primary, **_decoded(digit, x, np.asarray(T, np.float64), w)}


def _decode(digit, T, w):
    """The decoder's pixels `(batch, h * w * c)` from the capsules masked by T."""
    masked = (digit * T[:, :, None]).reshape(digit.shape[0], -1)
    hidden = relu(masked @ w["dense1_kernel"] + w["dense1_bias"])
    hidden = relu(hidden @ w["dense2_kernel"] + w["dense2_bias"])
    return sigmoid(hidden @ w["dense3_kernel"] + w["dense3_bias"])


def _decoded(digit, images, T, w):
    """Lengths, the reconstruction from the T-masked capsules, and the loss."""
    batch = digit.shape[0]
    lengths = np.sqrt(np.sum(digit**2, axis=-1))
    pixels = _decode(digit, T, w)
    squared_errors = np.sum((pixels - images.reshape(batch, -1)) ** 2, axis=1)
    return {
        "digit": digit,
        "lengths": lengths,
        "reconstruction": pixels.reshape(images.shape),
        "loss": margin_loss(T, lengths) + 0.0005 * np.mean(squared_errors),
    }


# ---------------------------------------------------------------------------
# MultiMNIST (Sabour et al., 2017, section 6): two digits of different
# classes, each shifted inside a larger canvas, merged as min(a + b, 1); the
# margin loss with both labels present, and each digit reconstructed from its
# own class capsule against its own shifted image.


def on_canvas(digit, canvas, down, right):
    """An (h, w, c) digit padded to the centre of a canvas x canvas image, then moved."""
    h, w, c = digit.shape
    top, left = (canvas - h) // 2, (canvas - w) // 2
    padded = np.pad(digit, ((top, canvas - h - top), (left, canvas - w - left), (0, 0)))
    return shift(padded, down, right)


def multimnist_pair(first, second, canvas, first_shift, second_shift):
    """(merged, first on its canvas, second on its canvas), float64 in [0, 1]."""
    a = on_canvas(np.asarray(first, np.float64), canvas, *first_shift)
    b = on_canvas(np.asarray(second, np.float64), canvas, *second_shift)
    merged = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        merged[index] = min(a[index] + b[index], 1.0)
    return merged, a, b


def two_digit_capsnet(images, T1, T2, digits1, digits2, weights, lam_recon, routings=3):
    """The two-digit CapsNet's lengths, reconstructions and loss (a mean over the batch).

    loss = margin_loss(T1 + T2) + lam_recon x (mean squared error of digit 1's
    reconstruction + that of digit 2's), each masked by its own label.
    """
    w = {name: np.asarray(value, np.float64) for name, value in weights.items()}
    out = capsnet(images, T1, weights, routings)
    digit, lengths = out["digit"], out["lengths"]
    batch = digit.shape[0]
    T1, T2 = np.asarray(T1, np.float64), np.asarray(T2, np.float64)
    reconstructions = [_decode(digit, T, w) for T in (T1, T2)]
    errors = [
        np.mean((r - np.asarray(d, np.float64).reshape(batch, -1)) ** 2)
        for r, d in zip(reconstructions, (digits1, digits2), strict=True)
    ]
    return {
        "lengths": lengths,
        "reconstructions": [r.reshape(np.shape(images)) for r in reconstructions],
        "loss": margin_loss(T1 + T2, lengths) + lam_recon * sum(errors),
    }


def both_right(lengths, labels):
    """1.0 where the two longest capsules are the two classes in `labels` (n, 2), else 0.0."""
    result = []
    for row, pair in zip(lengths, labels, strict=True):
        order = sorted(range(len(row)), key=lambda k: -row[k])
        result.append(float(set(order[:2]) == set(int(c) for c in pair)))
    return np.array(result)


def cnn_baseline(images, weights):
    """Class probabilities of the paper's baseline CNN (Section 5): three 5x5
    ReLU convolutions of stride 1 with 'same' padding, two ReLU dense layers, a
    softmax layer (dropout is off at inference).

    Args:
        images: (batch, h, w, c).
        weights: {"conv1".."conv3", "fc1", "fc2", "logits": (kernel, bias)}.

    Returns:
        (batch, num_classes) probabilities.
    """
    x = images
    for name in ("conv1", "conv2", "conv3"):
        kernel, bias = weights[name]
        pad = kernel.shape[0] // 2
        x = relu(conv2d(np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))), kernel, bias, 1))
    x = x.reshape(len(x), -1)
    for name in ("fc1", "fc2"):
        kernel, bias = weights[name]
        x = relu(x @ kernel + bias)
    kernel, bias = weights["logits"]
    return softmax(x @ kernel + bias, axis=-1)


def cross_entropy(T, probabilities):
    """Mean over the batch of -sum_k T_k log p_k."""
    return float(np.mean(-np.sum(T * np.log(probabilities), axis=-1)))


def shared_votes(u, W, grid, coordinate_addition=True):
    """Votes of class capsules whose matrices are shared over grid positions, with
    coordinate addition (Hinton, Sabour & Frosst, 2018), one capsule at a time.

    Args:
        u: (batch, height * width * types, in_dim), ordered row, column, type.
        W: (types, n_out, out_dim, in_dim), one matrix per type and class.
        grid: (height, width).

    Returns:
        u_hat: (batch, n_in, n_out, out_dim): W[type of i, j] @ u_i, plus the
        centre of i's cell scaled to [-0.5, 0.5], ((column + 0.5) / width - 0.5,
        (row + 0.5) / height - 0.5), added to the first two dimensions.
    """
    u, W = u.astype(np.float64), W.astype(np.float64)
    height, width = grid
    types, n_out, out_dim, _ = W.shape
    batch, n_in, _ = u.shape
    u_hat = np.zeros((batch, n_in, n_out, out_dim))
    for b in range(batch):
        for row in range(height):
            for column in range(width):
                for t in range(types):
                    i = (row * width + column) * types + t
                    for j in range(n_out):
                        u_hat[b, i, j] = W[t, j] @ u[b, i]
                        if coordinate_addition:
                            u_hat[b, i, j, 0] += (column + 0.5) / width - 0.5
                            u_hat[b, i, j, 1] += (row + 0.5) / height - 0.5
    return u_hat


def route_votes(u_hat, routings):
    """Procedure 1 on given votes u_hat (batch, n_in, n_out, out_dim) -> v (batch, n_out, out_dim)."""
    batch, n_in, n_out, _ = u_hat.shape
    v_all = np.zeros((batch, n_out, u_hat.shape[3]))
    for b in range(batch):
        logits = np.zeros((n_in, n_out))
        for r in range(routings):
            c = softmax(logits, axis=1)
            s = np.array([sum(c[i, j] * u_hat[b, i, j] for i in range(n_in)) for j in range(n_out)])
            v = squash(s)
            if r < routings - 1:
                for i in range(n_in):
                    for j in range(n_out):
                        logits[i, j] += u_hat[b, i, j] @ v[j]
        v_all[b] = v
    return v_all


# ---------------------------------------------------------------------------
# Large images: the strided stem and the transposed-convolution decoder, with
# 'same' padding as TensorFlow defines it (the extra row or column of an odd
# total padding goes after, at the bottom and right).


def _same_padding(size, kernel, stride):
    """(before, after) padding of one axis for a 'same' convolution."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_same(x, kernel, bias, stride):
    """'same' convolution of (batch, h, w, c) by (k, k, c, f), plus bias: out ceil(h / stride)."""
    k = kernel.shape[0]
    pads = [_same_padding(x.shape[axis], k, stride) for axis in (1, 2)]
    padded = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    return conv2d(padded, kernel, bias, stride)


def conv2d_transpose_same(x, kernel, bias, stride):
    """'same' transposed convolution of (batch, h, w, c) by (k, k, f, c): out
    (batch, h * stride, w * stride, f), each input pixel spreading its kernel.

    It is the gradient of a 'same' convolution of a (h * stride)-sided image:
    input pixel (i, j) meets output pixel (i * stride + a - top, j * stride + b - left).
    """
    batch, h, w, _ = x.shape
    k, filters = kernel.shape[0], kernel.shape[2]
    top, _ = _same_padding(h * stride, k, stride)
    left, _ = _same_padding(w * stride, k, stride)
    out = np.zeros((batch, h * stride, w * stride, filters))
    for i in range(h):
        for j in range(w):
            for a in range(k):
                for b in range(k):
                    row, column = i * stride + a - top, j * stride + b - left
                    if 0 <= row < h * stride and 0 <= column < w * stride:
                        out[:, row, column] += x[:, i, j] @ kernel[a, b].T
    return out + bias


def stem(x, blocks):
    """The stem: each block a stride-2 'same' 3x3 convolution and a ReLU.

    Args:
        x: (batch, h, w, c). blocks: [(kernel, bias)] in order.
    """
    for kernel, bias in blocks:
        x = relu(conv2d_same(x, kernel, bias, 2))
    return x


def deconv_decode(masked, dense, transposed, last, output_shape):
    """The transposed-convolution decoder: dense + ReLU to a small grid, stride-2
    transposed convolutions + ReLU, a 'same' 3x3 sigmoid convolution, then the
    bottom and right rows and columns beyond `output_shape` dropped.

    Args:
        masked: (batch, classes * dim). dense: (kernel, bias, grid (h, w, c)).
        transposed: [(kernel, bias)]. last: (kernel, bias).
    """
    kernel, bias, grid = dense
    x = relu(masked @ kernel + bias).reshape(masked.shape[0], *grid)
    for kernel, bias in transposed:
        x = relu(conv2d_transpose_same(x, kernel, bias, 2))
    x = sigmoid(conv2d_same(x, *last, 1))
    height, width, _ = output_shape
    return x[:, :height, :width]
