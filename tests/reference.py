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
    per_class = T * np.maximum(0, m_plus - lengths) ** 2 + lam * (1 - T) * np.maximum(
        0, lengths - m_minus
    ) ** 2
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
