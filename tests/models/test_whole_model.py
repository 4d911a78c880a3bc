"""The whole CapsNet against the independent float64 reference, on real digits.

Same weights in both; compared: primary capsules, class capsules, lengths,
reconstruction, total loss, and the loss's gradient with respect to DigitCaps'
W and Conv1's kernel (central differences of the reference). Two regimes: the
default initialiser, and Glorot-uniform W, whose class capsules start tiny
(lengths near 1e-7): any floor or epsilon in the norm shows up there.
"""

import keras
import numpy as np
import pytest
from keras import ops

import capsnet
from tests import reference

N_CHECKED = 8  # gradient entries checked per weight, by central differences (each: 4 reference passes)


def keras_weights(train):
    """The model's weights under the reference's names."""
    dense = [layer for layer in train.get_layer("decoder").layers if layer.weights][:3]
    weights = {
        "conv1_kernel": train.get_layer("conv1").kernel,
        "conv1_bias": train.get_layer("conv1").bias,
        "primary_kernel": train.get_layer("primarycaps").kernel,
        "primary_bias": train.get_layer("primarycaps").bias,
        "W": train.get_layer("digitcaps").kernel,
    }
    for n, layer in enumerate(dense, start=1):
        weights[f"dense{n}_kernel"] = layer.kernel
        weights[f"dense{n}_bias"] = layer.bias
    return {name: ops.convert_to_numpy(value).astype(np.float64) for name, value in weights.items()}


@pytest.fixture(scope="module", params=["default", "glorot"])
def case(request, four_digits):
    """The model, its weights, and the reference's forward pass and gradients."""
    keras.utils.set_random_seed(11)
    train = capsnet.build_capsnet(shift_pixels=0).train
    if request.param == "glorot":
        W = train.get_layer("digitcaps").kernel
        W.assign(keras.initializers.GlorotUniform(seed=5)(W.shape))
    weights = keras_weights(train)
    x, y = four_digits
    expected = reference.capsnet(x, y, weights)
    rng = np.random.default_rng(3)
    entries = {
        "W": [
            (rng.integers(1152), int(rng.choice(np.argmax(y, 1))), rng.integers(16), rng.integers(8))
            for _ in range(N_CHECKED)
        ],
        "conv1_kernel": [(rng.integers(9), rng.integers(9), 0, rng.integers(256)) for _ in range(N_CHECKED)],
    }
    numeric = {name: central_differences(x, y, weights, name, idx) for name, idx in entries.items()}
    return request.param, train, expected, entries, numeric


# Float64 rounding of the loss (~1e-16) divided by the step must stay far
# below gradients of 1e-7 (the Glorot regime), hence no smaller steps. W is
# past every ReLU but the decoder's, so it can take a larger step.
STEPS = {"W": 1e-3, "conv1_kernel": 1e-5}


def central_differences(x, y, weights, name, entries):
    """d loss / d weights[name][entry] of the reference, NaN where unreliable.

    The loss has kinks (the ReLUs), and a step that straddles one misses the
    derivative (by 2% for one Conv1 entry here, with a step of 1e-5). Near a
    kink the estimate depends on the step, so each entry is estimated with
    the step and half of it; entries where the two disagree are NaN.
    """
    step = STEPS[name]
    primary = None
    if name == "W":  # W comes after the primary capsules: compute them once
        primary = reference.capsnet(x, y, weights)["primary"]

    def loss(entry, delta):
        w = dict(weights)
        w[name] = weights[name].copy()
        w[name][entry] += delta
        if primary is None:
            return reference.capsnet(x, y, w)["loss"]
        return reference.from_primary_capsules(primary, x, y, w)["loss"]

    def derivative(entry, h):
        return (loss(entry, h) - loss(entry, -h)) / (2 * h)

    coarse = np.array([derivative(entry, step) for entry in entries])
    fine = np.array([derivative(entry, step / 2) for entry in entries])
    stable = np.abs(coarse - fine) <= 3e-4 * np.max(np.abs(fine))
    return np.where(stable, fine, np.nan)


def keras_forward(train, x, y):
    conv1 = train.get_layer("conv1")(x)
    primary = train.get_layer("primarycaps")(conv1)
    digit = train.get_layer("digitcaps")(primary)
    lengths, reconstruction = train([x, y], training=False)
    return {
        name: ops.convert_to_numpy(value).astype(np.float64)
        for name, value in dict(
            primary=primary, digit=digit, lengths=lengths, reconstruction=reconstruction
        ).items()
    }


def keras_loss_gradients(train, x, y, training=False):
    """Loss and its gradients w.r.t. DigitCaps' W and Conv1's kernel, from Keras
    (with `training`, through the routing's one-pass gradient)."""
    from capsnet import backends

    W = train.get_layer("digitcaps").kernel
    K = train.get_layer("conv1").kernel
    others = {id(W): 0, id(K): 1}

    def loss(w_value, k_value):
        values = [
            (w_value, k_value)[others[id(v)]] if id(v) in others else v.value
            for v in train.trainable_variables
        ]
        (lengths, _), _, added = train.stateless_call(
            values, train.non_trainable_variables, [x, y], training=training, return_losses=True
        )
        return ops.mean(capsnet.margin_loss(y, lengths)) + sum(added)

    value, (dW, dK) = backends.active().gradients(loss, [ops.convert_to_numpy(W), ops.convert_to_numpy(K)])
    return value, {"W": dW, "conv1_kernel": dK}


def relative_error(got, expected):
    return np.max(np.abs(got - expected)) / np.max(np.abs(expected))


@pytest.mark.parametrize(
    "name, rtol",
    [("primary", 1e-5), ("digit", 1e-4), ("lengths", 1e-4), ("reconstruction", 1e-5)],
)
def test_forward_matches_reference(case, four_digits, name, rtol):
    _, train, expected, _, _ = case
    got = keras_forward(train, *four_digits)[name]
    assert got.shape == expected[name].shape
    if name == "lengths":  # each length on its own scale: the small ones matter here
        worst = np.max(np.abs(got - expected[name]) / expected[name])
    else:
        worst = relative_error(got, expected[name])
    assert worst <= rtol, f"{name}: max relative error {worst:.3g}"


@pytest.mark.parametrize("training", [False, True])
def test_loss_and_gradients_match_reference(case, four_digits, training):
    _, train, expected, entries, numeric = case
    value, grads = keras_loss_gradients(train, *four_digits, training=training)
    assert abs(value - expected["loss"]) <= 1e-5 * abs(expected["loss"])
    for name, idx in entries.items():
        got = np.array([grads[name][entry] for entry in idx], dtype=np.float64)
        ref = numeric[name]
        reliable = ~np.isnan(ref)
        assert reliable.sum() >= N_CHECKED * 2 // 3, f"{name}: too many entries near a kink"
        got, ref = got[reliable], ref[reliable]
        cosine = got @ ref / (np.linalg.norm(got) * np.linalg.norm(ref))
        worst = relative_error(got, ref)

        assert cosine >= 0.9999 and worst <= 1e-3, (
            f"d loss / d {name}: cosine {cosine:.6f}, max relative error {worst:.3g}"
        )


def test_batched_routing_equals_procedure_1(rng):
    """The reference's batched routing against its own one-example-at-a-time loops."""
    u = rng.normal(size=(2, 6, 8))
    W = rng.normal(size=(6, 4, 16, 8)) * 0.3
    for routings in (1, 3):
        np.testing.assert_allclose(
            reference.routing(u, W, routings), reference.dynamic_routing(u, W, routings)[0], atol=1e-12
        )
