"""The capsule non-linearity of Sabour et al. (2017), equation 1."""

import keras
from keras import ops

from capsnet.layers.safe_norm import safe_norm


@keras.saving.register_keras_serializable(package="capsnet")
def squash(vectors, axis=-1):
    """Shrink each vector to a length in [0, 1), keeping its direction.

    squash(s) = |s|^2 / (1 + |s|^2) * s / |s| = s |s| / (1 + |s|^2)

    The second form never divides by |s|, and `safe_norm` is exact for small
    vectors, so the result is exact however small `s` is (no epsilon shrinks
    it) and both value and gradient are 0 at s = 0.

    Computed in float32 whatever the input dtype, so that mixed precision
    cannot overflow |s|^2; the result has the input's dtype.

    Args:
        vectors: tensor of any shape `(..., dim, ...)`.
        axis: the axis that holds each vector's components.

    Returns:
        Tensor of the same shape and dtype as `vectors`.
    """
    dtype = vectors.dtype
    s = ops.cast(vectors, "float32")
    norm = safe_norm(s, axis=axis, keepdims=True)
    return ops.cast(s * (norm / (1.0 + ops.square(norm))), dtype)


@keras.saving.register_keras_serializable(package="capsnet")
def efficient_squash(vectors, axis=-1):
    """The squash of Efficient-CapsNet (Mazzia et al., 2021, equation 3).

    squash(s) = (1 - 1 / e^|s|) * s / |s|

    Steeper than `squash` near zero (length |s| - |s|^2/2 rather than |s|^2),
    so small capsules are not suppressed. 1 - e^-n is computed as
    2 tanh(n/2) / (1 + tanh(n/2)), which keeps full relative precision for
    tiny n (where 1 - e^-n cancels to 0) and, unlike expm1, exists in every
    exporter (ONNX, OpenVINO). The factor (1 - e^-n) / n is taken as its limit 1
    where |s| = 0 (a "double where", so the gradient is finite there too); no
    epsilon shortens any vector.

    Computed in float32 whatever the input dtype; the result has the input's dtype.

    Args:
        vectors: tensor of any shape `(..., dim, ...)`.
        axis: the axis that holds each vector's components.

    Returns:
        Tensor of the same shape and dtype as `vectors`, each vector of length in [0, 1).
    """
    dtype = vectors.dtype
    s = ops.cast(vectors, "float32")
    norm = safe_norm(s, axis=axis, keepdims=True)
    nonzero = norm > 0
    one = ops.ones_like(norm)  # not 1.0: see safe_norm
    safe = ops.where(nonzero, norm, one)
    half = ops.tanh(safe / 2)
    factor = ops.where(nonzero, 2 * half / ((1 + half) * safe), one)
    return ops.cast(s * factor, dtype)
