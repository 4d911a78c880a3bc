import numpy as np
import pytest
from keras import ops

from capsnet import CapsuleLayer
from tests import reference
from tests.helpers import central_differences, gradient


def routed(u, W, routings, training=False):
    layer = CapsuleLayer(W.shape[1], W.shape[2], routings=routings)
    layer.build(u.shape)
    layer.kernel.assign(W)
    return layer, ops.convert_to_numpy(layer(u, training=training))


@pytest.fixture
def capsules(rng):
    u = rng.normal(size=(3, 12, 8)).astype("float32")
    W = rng.normal(size=(12, 5, 16, 8)).astype("float32") * 0.3
    return u, W


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("routings", [1, 2, 3])
def test_matches_numpy_procedure_1(capsules, routings, training):
    u, W = capsules
    _, v = routed(u, W, routings, training)
    expected, _ = reference.dynamic_routing(u, W, routings)
    np.testing.assert_allclose(v, expected, atol=2e-5, rtol=1e-4)


def test_one_iteration_couples_uniformly(capsules):
    u, W = capsules
    _, v = routed(u, W, 1)
    u_hat = np.einsum("ijed,bid->bije", W, u)
    uniform = reference.squash(u_hat.mean(axis=1) * 1.0 * u_hat.shape[1] / W.shape[1])
    np.testing.assert_allclose(v, uniform, atol=2e-5, rtol=1e-4)
    _, coupling = reference.dynamic_routing(u, W, 1)
    np.testing.assert_allclose(coupling, 1 / W.shape[1])


def test_routing_changes_the_result(capsules):
    u, W = capsules
    assert not np.allclose(routed(u, W, 1)[1], routed(u, W, 3)[1], atol=1e-4)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("routings", [1, 2, 3])
def test_gradient_flows_through_every_iteration(capsules, routings, training):
    """d sum(v * R)/du against central finite differences of the numpy reference:
    through automatic differentiation (inference) and the one-pass gradient (training)."""
    u, W = capsules
    u, W = u[:1, :4], W[:4, :3]
    R = np.random.default_rng(0).normal(size=(1, 3, 16))
    layer, _ = routed(u, W, routings)
    weights = ops.convert_to_tensor(R.astype("float32"))
    grad = gradient(lambda x: ops.sum(layer(x, training=training) * weights), u)

    def objective(x):
        return np.sum(reference.dynamic_routing(x, W, routings)[0] * R)

    numeric = central_differences(objective, u, step=1e-4)
    np.testing.assert_allclose(grad, numeric, atol=2e-3, rtol=2e-2)


def test_batch_size_is_free(capsules):
    u, W = capsules
    layer, _ = routed(u, W, 3)
    assert tuple(layer(u[:1]).shape) == (1, 5, 16)


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6])
def test_training_gradient_equals_automatic_differentiation_on_a_full_batch(rng, scale):
    """The one-pass gradient of a DigitCaps-sized layer (and of W, through it), for
    ordinary and for the tiny capsules of a fresh network (lengths near 1e-7)."""
    u = (rng.normal(size=(4, 64, 8)) * scale).astype("float32")
    W = (rng.normal(size=(64, 10, 16, 8)) * 0.1).astype("float32")
    R = ops.convert_to_tensor(rng.normal(size=(4, 10, 16)).astype("float32"))
    layer, _ = routed(u, W, 3)
    expected, got = (gradient(lambda x, t=t: ops.sum(layer(x, training=t) * R), u) for t in (False, True))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_a_training_step_frees_its_outputs_without_the_cycle_collector(rng):
    """torch: nothing the one-pass gradient keeps may hold the routed output, whose
    graph node holds that gradient: such a cycle waits for Python's cycle collector,
    and a CapsNet training step left about 25 MB behind per step until a 5-epoch
    run was killed for memory."""
    import gc
    import weakref

    import keras

    if keras.backend.backend() != "torch":
        pytest.skip("torch's custom gradient keeps its function on the graph node")
    from capsnet.layers import routing

    u_hat = keras.Variable(rng.normal(size=(2, 3, 5, 4)).astype("float32") * 0.3)
    gc.disable()
    try:
        v = routing.route_for_training(u_hat.value, 3)
        ops.sum(v * v).backward()
        output = weakref.ref(v)
        del v
        assert output() is None, "the routed output outlived its step"
    finally:
        gc.enable()
