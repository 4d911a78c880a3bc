"""Efficient-CapsNet's layers against the numpy reference of its paper."""

import numpy as np
import pytest
from keras import ops

from capsnet.layers import DepthwisePrimaryCapsule, SelfAttentionCapsuleLayer, efficient_squash
from tests import reference
from tests.helpers import central_differences, gradient


def attention_layer(W, B):
    layer = SelfAttentionCapsuleLayer(W.shape[1], W.shape[2])
    layer.build((None, W.shape[0], W.shape[3]))
    layer.kernel.assign(W)
    layer.log_priors.assign(B)
    return layer


@pytest.fixture
def capsules(rng):
    u = reference.efficient_squash(rng.normal(size=(3, 16, 8))).astype("float32")
    W = (rng.normal(size=(16, 10, 16, 8)) * 0.5).astype("float32")
    B = (rng.normal(size=(16, 10)) * 0.1).astype("float32")
    return u, W, B


@pytest.mark.parametrize("scale", [1e-30, 1e-8, 1e-3, 0.5, 3.0, 40.0])
def test_efficient_squash_matches_equation_3(rng, scale):
    s = (rng.normal(size=(4, 7, 16)) * scale).astype("float32")
    out = ops.convert_to_numpy(efficient_squash(s))
    expected = reference.efficient_squash(s)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=0)


def test_efficient_squash_is_zero_with_zero_gradient_at_zero():
    zero = np.zeros((2, 8), "float32")
    assert np.all(ops.convert_to_numpy(efficient_squash(zero)) == 0)
    grad = gradient(lambda s: ops.sum(efficient_squash(s)), zero)
    assert np.all(np.isfinite(grad))


def test_self_attention_routing_matches_equations_4_to_7(capsules):
    u, W, B = capsules
    v = ops.convert_to_numpy(attention_layer(W, B)(u))
    expected, _ = reference.self_attention_routing(u, W, B)
    np.testing.assert_allclose(v, expected, atol=2e-6, rtol=1e-5)


def test_priors_matter(capsules):
    u, W, B = capsules
    with_priors = ops.convert_to_numpy(attention_layer(W, B)(u))
    without = ops.convert_to_numpy(attention_layer(W, np.zeros_like(B))(u))
    assert not np.allclose(with_priors, without, atol=1e-4)


def test_routing_gradient_against_finite_differences(capsules):
    """d sum(v * R)/du and /dW against central differences of the numpy reference."""
    u, W, B = capsules
    u, W, B = u[:1, :5], W[:5, :3, :4], B[:5, :3]
    R = np.random.default_rng(1).normal(size=(1, 3, 4))
    layer = attention_layer(W, B)
    weights = ops.convert_to_tensor(R.astype("float32"))
    grad = gradient(lambda x: ops.sum(layer(x) * weights), u)

    def objective(x):
        return np.sum(reference.self_attention_routing(x, W, B)[0] * R)

    numeric = central_differences(objective, u, step=1e-5)
    np.testing.assert_allclose(grad, numeric, atol=1e-3, rtol=1e-2)


def test_depthwise_primary_capsules_match_reference(rng):
    x = rng.normal(size=(2, 9, 9, 32)).astype("float32")
    layer = DepthwisePrimaryCapsule(dim_capsule=8, kernel_size=9)
    layer.build(x.shape)
    kernel = rng.normal(size=(9, 9, 32, 1)).astype("float32") * 0.1
    bias = rng.normal(size=(32,)).astype("float32")
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    out = ops.convert_to_numpy(layer(x))
    features = reference.depthwise_conv2d(x.astype(np.float64), kernel, bias)
    expected = reference.efficient_squash(features.reshape(2, -1, 8))
    assert out.shape == (2, 4, 8)
    np.testing.assert_allclose(out, expected, atol=2e-6, rtol=1e-5)


def test_depthwise_primary_capsules_refuse_what_does_not_split():
    with pytest.raises(ValueError, match="do not split"):
        DepthwisePrimaryCapsule(dim_capsule=5, kernel_size=9).build((None, 9, 9, 32))
    with pytest.raises(ValueError, match="larger than"):
        DepthwisePrimaryCapsule(kernel_size=9).build((None, 8, 8, 32))
