import numpy as np
from keras import ops

from capsnet import Length, Mask
from tests.helpers import gradient


def test_length(rng):
    caps = rng.normal(size=(4, 10, 16)).astype("float32")
    got = ops.convert_to_numpy(Length()(caps))
    np.testing.assert_allclose(got, np.linalg.norm(caps, axis=-1), rtol=1e-5)


def test_mask_by_label(rng):
    caps = rng.normal(size=(3, 4, 2)).astype("float32")
    labels = np.eye(4, dtype="float32")[[2, 0, 3]]
    got = ops.convert_to_numpy(Mask()([caps, labels])).reshape(3, 4, 2)
    for b, k in enumerate([2, 0, 3]):
        np.testing.assert_array_equal(got[b, k], caps[b, k])
        assert np.all(np.delete(got[b], k, axis=0) == 0)


def test_mask_by_longest_capsule():
    caps = np.zeros((2, 3, 2), dtype="float32")
    caps[0, 1] = [3, 4]
    caps[0, 2] = [1, 1]
    caps[1, 0] = [0.1, 0]
    caps[1, 2] = [0, -2]
    got = ops.convert_to_numpy(Mask()(caps)).reshape(2, 3, 2)
    expected = np.zeros_like(caps)
    expected[0, 1] = [3, 4]
    expected[1, 2] = [0, -2]
    np.testing.assert_array_equal(got, expected)


def test_length_exact_for_small_and_large_capsules(rng):
    """Norms from 1e-6 to 1e2 within 1e-4 relative: no epsilon floor."""
    directions = rng.normal(size=(1, 41, 16))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    norms = np.logspace(-6, 2, 41)
    caps = (directions * norms[None, :, None]).astype("float32")
    got = ops.convert_to_numpy(Length()(caps))[0]
    expected = np.linalg.norm(caps.astype(np.float64), axis=-1)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=0)


def test_length_gradient_is_the_unit_vector(rng):
    """d|v|/dv = v / |v| exactly, also for a capsule of length 1e-6."""
    caps = rng.normal(size=(1, 2, 16))
    caps[0, 0] *= 1e-6 / np.linalg.norm(caps[0, 0])
    caps = caps.astype("float32")
    grad = gradient(lambda v: ops.sum(Length()(v)), caps)
    unit = caps / np.linalg.norm(caps.astype(np.float64), axis=-1, keepdims=True)
    np.testing.assert_allclose(grad, unit, rtol=1e-4, atol=1e-7)


def test_zero_capsule_has_length_zero_and_finite_gradient():
    caps = np.zeros((2, 3, 4), dtype="float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(Length()(caps)), 0)
    grad = gradient(lambda v: ops.sum(Length()(v)), caps)
    assert np.all(np.isfinite(grad))


def test_nan_capsule_has_nan_length():
    """A broken (NaN) capsule must not pass for a zero-length one."""
    caps = np.full((1, 2, 4), np.nan, dtype="float32")
    assert np.all(np.isnan(ops.convert_to_numpy(Length()(caps))))


def test_mask_by_length_keeps_the_first_of_equally_long_capsules():
    capsules = np.zeros((1, 4, 2), "float32")
    capsules[0, 1] = [0.6, 0.0]
    capsules[0, 3] = [0.0, 0.6]
    masked = ops.convert_to_numpy(Mask()(capsules)).reshape(4, 2)
    np.testing.assert_array_equal(masked, np.float32([[0, 0], [0.6, 0], [0, 0], [0, 0]]))
