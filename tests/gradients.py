"""Gradients on whichever backend is active, through its plug-in."""

import numpy as np

from capsnet import backends


def gradient(fn, x):
    """Numpy gradient of the scalar `fn(x)` at numpy `x`."""
    _, (grad,) = backends.active().gradients(fn, [np.asarray(x)])
    return grad


def central_differences(objective, x, step):
    """d objective / dx by central differences, every entry, in float64."""
    numeric = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        plus, minus = x.astype(np.float64), x.astype(np.float64)
        plus[index] += step
        minus[index] -= step
        numeric[index] = (objective(plus) - objective(minus)) / (2 * step)
    return numeric
