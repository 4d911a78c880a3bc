"""Euclidean norm that is exact for small vectors and differentiable at zero."""

from keras import ops


def safe_norm(vectors, axis=-1, keepdims=False):
    """|v| along `axis`, exact to float32 rounding for every nonzero vector.

    The usual guard, `sqrt(|v|^2 + eps)`, puts a floor of `sqrt(eps)` under
    every length and tilts its gradient: fatal for freshly initialised
    capsules, whose lengths are often far below any such floor. Here the
    square root only ever sees the true squared norm, or 1 where that norm is
    exactly zero (the "double where"): the value is then 0 and the gradient 0,
    both finite. NaN stays NaN, so a broken capsule never passes for an empty one.

    Computed in float32 whatever the input dtype, so that mixed precision
    cannot overflow or underflow |v|^2.

    Args:
        vectors: tensor `(..., dim, ...)`.
        axis: the axis that holds each vector's components.
        keepdims: keep `axis` with size 1.

    Returns:
        float32 tensor of the norms: the input's shape without `axis` (or with
        it of size 1 when `keepdims`).
    """
    v = ops.cast(vectors, "float32")
    squared = ops.sum(ops.square(v), axis=axis, keepdims=keepdims)
    nonzero = squared > 0
    # Where not `nonzero`, `squared` is 0 (value 0, gradient 2v = 0) or NaN.
    # ones_like, not 1.0: Keras would make a tensor of the number, which on a CUDA
    # device is a blocking copy from the host (tests/training/test_no_host_scalars.py).
    return ops.where(nonzero, ops.sqrt(ops.where(nonzero, squared, ops.ones_like(squared))), squared)
