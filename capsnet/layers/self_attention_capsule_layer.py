"""Efficient-CapsNet's fully-connected capsule layer with self-attention routing."""

import math

import keras
from keras import ops

from capsnet.layers import validation
from capsnet.layers.squash import efficient_squash


def authors_he_normal(shape):
    """He-normal for W `(n_in, n_out, out_dim, in_dim)` with the fan-in of the
    authors' code, n_in * n_out * in_dim (Keras's He-normal of their layout)."""
    _, _, out_dim, in_dim = shape
    # Keras takes the fan-in of this layout as n_in * n_out * out_dim.
    return keras.initializers.VarianceScaling(
        scale=2.0 * out_dim / in_dim, mode="fan_in", distribution="truncated_normal"
    )


@keras.saving.register_keras_serializable(package="capsnet")
class SelfAttentionCapsuleLayer(keras.layers.Layer):
    """Capsules fed by self-attention routing (Mazzia et al., 2021, equations 4-7).

    In one non-iterative step, every input capsule n predicts every output
    capsule j, u_hat[n, j] = W[n, j] u[n] (equation 4). For each j, the
    self-attention matrix A_j = U_j U_j^T / sqrt(d) (equation 5, U_j the
    `(n_in, d)` predictions for j, d = `dim_capsule`) scores how much each
    prediction agrees with all the others; the coupling coefficients are the
    softmax over output capsules of its row sums (equation 6), plus learned
    log priors B; and s_j = sum_n u_hat[n, j] (c[n, j] + B[n, j]) is squashed
    with `efficient_squash` (equation 7).

    The row sums are computed without forming A_j:
    sum_m A_j[n, m] = u_hat[n, j] . (sum_m u_hat[m, j]) / sqrt(d),
    which costs O(n_in) rather than O(n_in^2) per output capsule.

    W has the same layout as `CapsuleLayer`'s, `(n_in, n_out, out_dim, in_dim)`.

    Args:
        num_capsule: number of output capsules (classes).
        dim_capsule: dimensions of each output capsule (16 in the paper).
        kernel_initializer: initializer for W; default He-normal with the
            fan-in of the authors' code (`authors_he_normal`).

    Input shape:
        `(batch, n_in, in_dim)`.

    Output shape:
        `(batch, num_capsule, dim_capsule)`.

    Example:
        >>> v = SelfAttentionCapsuleLayer(10, 16)(keras.ops.ones((2, 16, 8)))
        >>> tuple(v.shape)
        (2, 10, 16)
    """

    def __init__(self, num_capsule, dim_capsule, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_capsule = validation.positive_int("num_capsule", num_capsule)
        self.dim_capsule = validation.positive_int("dim_capsule", dim_capsule)
        self.kernel_initializer = keras.initializers.get(kernel_initializer) if kernel_initializer else None

    def build(self, input_shape):
        validation.rank("SelfAttentionCapsuleLayer", input_shape, 3, "(batch, n_capsules, dim)")
        n_in, in_dim = input_shape[1], input_shape[2]
        if n_in is None or in_dim is None:
            raise ValueError(
                "SelfAttentionCapsuleLayer needs a static capsule count and dimension, "
                f"got {tuple(input_shape)}"
            )
        shape = (n_in, self.num_capsule, self.dim_capsule, in_dim)
        self.kernel = self.add_weight(
            name="kernel", shape=shape, initializer=self.kernel_initializer or authors_he_normal(shape)
        )
        self.log_priors = self.add_weight(
            name="log_priors", shape=(n_in, self.num_capsule), initializer="zeros"
        )

    def call(self, inputs):
        u_hat = ops.einsum("ijed,bid->bije", self.kernel, inputs)  # (batch, n_in, n_out, dim)
        # Row sums of A_j (equation 5) in float32, so mixed precision cannot distort the softmax.
        u_hat32 = ops.cast(u_hat, "float32")
        total = ops.sum(u_hat32, axis=1)  # (batch, n_out, dim)
        scores = ops.einsum("bije,bje->bij", u_hat32, total) / math.sqrt(self.dim_capsule)
        coupling = ops.softmax(scores, axis=-1) + ops.cast(self.log_priors, "float32")  # (batch, n_in, n_out)
        outputs = ops.einsum("bij,bije->bje", ops.cast(coupling, u_hat.dtype), u_hat)
        return efficient_squash(outputs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_capsule, self.dim_capsule)

    def get_config(self):
        initializer = self.kernel_initializer
        return {
            **super().get_config(),
            "num_capsule": self.num_capsule,
            "dim_capsule": self.dim_capsule,
            "kernel_initializer": keras.initializers.serialize(initializer) if initializer else None,
        }
