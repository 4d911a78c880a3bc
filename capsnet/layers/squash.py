"""The capsule non-linearity of Sabour et al. (2017), equation 1."""

import keras
from keras import ops

# Inside the square root only: keeps the value and the gradient finite at s = 0.
SQUASH_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="capsnet")
def squash(vectors, axis=-1):
    """Shrink each vector to a length in [0, 1), keeping its direction.

    squash(s) = |s|^2 / (1 + |s|^2) * s / |s|

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
    squared_norm = ops.sum(ops.square(s), axis=axis, keepdims=True)
    scale = squared_norm / (1.0 + squared_norm) / ops.sqrt(squared_norm + SQUASH_EPSILON)
    return ops.cast(scale * s, dtype)
