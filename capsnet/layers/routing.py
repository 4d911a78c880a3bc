"""Dynamic routing (Procedure 1 of Sabour et al., 2017), forward and a one-pass backward.

The predictions are laid out `(batch, n_out, n_in, dim)` so that each routing
product is a plain batched matrix product over the input capsules.

Automatic differentiation of the routing loop writes a full-size gradient
`(batch, n_out, n_in, dim)` for every product in the loop (2 x routings - 1 of
them) and adds them up: that is most of a CPU training step's memory traffic
outside the convolutions. Every one of those terms is an outer product
`weight[b, j, i] * vector[b, j, :]`, so `route_for_training` collects the
weights and vectors and writes the gradient once, as one batched matrix
product. It returns the same values as `route`; tests check its gradient
against central differences of the numpy reference (tests/layers/test_routing.py).
"""

from keras import ops

from capsnet.layers.safe_norm import safe_norm
from capsnet.layers.squash import squash


def route(u_hat, routings):
    """The output capsules of Procedure 1, and what its backward pass needs.

    Logits start at zero for every example; they and the couplings are kept
    in float32 so that mixed precision cannot distort the softmax.

    Args:
        u_hat: `(batch, n_out, n_in, dim)`, the predictions u_hat_{j|i}.
        routings: iterations, >= 1.

    Returns:
        `(v, saved)`: the output capsules `(batch, n_out, dim)` in u_hat's dtype,
        and per iteration `(coupling, s, v)`: float32 couplings
        `(batch, n_out, n_in)`, the sums s and the squashed v `(batch, n_out, dim)`.
    """
    n_out = u_hat.shape[1]
    logits = None
    saved = []
    for iteration in range(routings):
        if logits is None:  # softmax of zero logits: uniform over the outputs
            # ones / n_out, not ops.full(..., 1 / n_out): no tensor made of a number (see safe_norm)
            coupling = ops.ones(ops.shape(u_hat)[:3], dtype="float32") / n_out
        else:
            coupling = ops.softmax(logits, axis=1)  # over the output capsules j
        s = _weighted_sum(coupling, u_hat)
        v = squash(s)
        saved.append((coupling, s, v))
        if iteration < routings - 1:
            agreement = ops.cast(_dot(u_hat, v), "float32")
            logits = agreement if logits is None else logits + agreement
    return v, saved


def route_for_training(u_hat, routings):
    """`route(u_hat, routings)[0]`, differentiated by `routing_gradient`."""

    @ops.custom_gradient
    def routed(u_hat):
        v, saved = route(u_hat, routings)
        # The last v is the output itself, which the gradient does not need. On
        # torch the output's graph node keeps `grad`: were the output in `saved`,
        # that cycle would wait for Python's cycle collector (about 25 MB a
        # CapsNet training step left behind).
        saved[-1] = saved[-1][:2] + (None,)

        def grad(*args, upstream=None):
            if upstream is None:  # jax and tensorflow pass the upstream gradient alone
                (upstream,) = args
            return routing_gradient(u_hat, saved, upstream)

        return v, grad

    return routed(u_hat)


def routing_gradient(u_hat, saved, upstream):
    """d loss / d u_hat `(batch, n_out, n_in, dim)` from d loss / d v `(batch, n_out, dim)`.

    Iteration t computes s_t = sum_i c_t[j, i] u_hat[j, i], v_t = squash(s_t)
    and, except the last, a_t[j, i] = u_hat[j, i] . v_t[j], added to the logits
    of every later iteration. Going back from the last iteration, each s_t adds
    c_t[j, i] * ds_t[j] to the gradient and each a_t adds da_t[j, i] * v_t[j],
    where da_t is the gradient reaching the logits after it. The first
    iteration's couplings are constant (zero logits).
    """
    weights, vectors = [], []  # d u_hat[b, j, i] = sum_k weights_k[b, j, i] * vectors_k[b, j]
    d_logits = None  # d loss / d (the logits of the iteration after the current one)
    dv = ops.cast(upstream, "float32")
    for iteration in reversed(range(len(saved))):
        coupling, s, v = saved[iteration]
        if d_logits is not None:  # a_t = u_hat . v_t fed every later iteration's logits
            weights.append(d_logits)
            vectors.append(ops.cast(v, "float32"))
            dv = ops.cast(_weighted_sum(d_logits, u_hat), "float32")
        ds = squash_gradient(ops.cast(s, "float32"), dv)
        weights.append(coupling)
        vectors.append(ds)
        if iteration > 0:
            d_coupling = ops.cast(_dot(u_hat, ds), "float32")
            direct = coupling * (d_coupling - ops.sum(coupling * d_coupling, axis=1, keepdims=True))
            d_logits = direct if d_logits is None else d_logits + direct
    return sum_of_outer_products(weights, vectors, u_hat.dtype)


def sum_of_outer_products(weights, vectors, dtype):
    """sum_k weights[k][b, j, i] * vectors[k][b, j, :] as one batched matrix product.

    Args:
        weights: list of `(batch, n_out, n_in)`.
        vectors: list of `(batch, n_out, dim)`, as many.
        dtype: the product's dtype.

    Returns:
        `(batch, n_out, n_in, dim)`.
    """
    # Stacked on an outer axis, (batch, n_out, terms, n_in), and transposed inside the
    # product: stacking on the last axis interleaves 5 numbers at a time, which
    # TensorFlow pays for with a copy of the whole tensor in every step.
    weights = ops.cast(ops.stack(weights, axis=2), dtype)
    vectors = ops.cast(ops.stack(vectors, axis=2), dtype)  # (batch, n_out, terms, dim)
    return ops.matmul(ops.swapaxes(weights, 2, 3), vectors)


def _weighted_sum(weights, u_hat):
    """sum_i weights[b, j, i] * u_hat[b, j, i, :], `(batch, n_out, dim)` in u_hat's dtype."""
    return ops.squeeze(ops.matmul(ops.cast(weights, u_hat.dtype)[:, :, None, :], u_hat), 2)


def _dot(u_hat, vectors):
    """u_hat[b, j, i, :] . vectors[b, j, :], `(batch, n_out, n_in)` in u_hat's dtype."""
    return ops.squeeze(ops.matmul(u_hat, ops.cast(vectors, u_hat.dtype)[..., None]), -1)


def squash_gradient(s, dv):
    """d loss / d s of v = squash(s) = s n / (1 + n^2), n = |s|, from d loss / d v.

    With h(n) = n / (1 + n^2): ds = h dv + h'(n) n (s^ . dv) s^, where s^ = s / n
    (0 where s = 0, where the gradient is h(0) dv = 0). float32 `(..., dim)`.
    """
    n = safe_norm(s, axis=-1, keepdims=True)
    q = 1.0 + ops.square(n)
    unit = ops.where(n > 0, s / ops.where(n > 0, n, ops.ones_like(n)), ops.zeros_like(s))
    along = ops.sum(unit * dv, axis=-1, keepdims=True)
    return (n / q) * dv + ((1.0 - ops.square(n)) / ops.square(q)) * n * along * unit
