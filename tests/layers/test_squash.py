import numpy as np
from keras import ops

from capsnet import squash
from tests import reference
from tests.helpers import gradient


def test_matches_the_paper(rng):
    s = rng.normal(size=(4, 10, 16)).astype("float32") * 3
    np.testing.assert_allclose(ops.convert_to_numpy(squash(s)), reference.squash(s), atol=1e-6)


def test_norm_below_one_and_direction_kept(rng):
    s = rng.normal(size=(50, 8)).astype("float32") * rng.uniform(0.01, 100, size=(50, 1))
    v = ops.convert_to_numpy(squash(s))
    norms = np.linalg.norm(v, axis=-1)
    assert np.all(norms < 1)
    cosine = np.sum(v * s, -1) / (norms * np.linalg.norm(s, axis=-1))
    np.testing.assert_allclose(cosine, 1, atol=1e-5)


def test_other_axis(rng):
    s = rng.normal(size=(3, 8, 5)).astype("float32")
    v = ops.convert_to_numpy(squash(s, axis=1))
    np.testing.assert_allclose(v, reference.squash(s, axis=1), atol=1e-6)


def test_zero_vector_gives_zero_and_finite_gradient():
    zeros = np.zeros((2, 8), dtype="float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(squash(zeros)), 0)
    grad = gradient(lambda s: ops.sum(squash(s)), zeros)
    assert np.all(np.isfinite(grad))


def capsules_of_norms(rng, norms, dim=16):
    """One random direction per norm: `(len(norms), dim)` float32."""
    directions = rng.normal(size=(len(norms), dim))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    return (directions * np.asarray(norms)[:, None]).astype("float32")


def test_exact_for_small_and_large_vectors(rng):
    """No epsilon may shrink a small vector: freshly initialised capsules are small."""
    s = capsules_of_norms(rng, np.logspace(-6, 2, 33))
    got = ops.convert_to_numpy(squash(s)).astype(np.float64)
    expected = reference.squash(s.astype(np.float64))
    relative = np.linalg.norm(got - expected, axis=-1) / np.linalg.norm(expected, axis=-1)
    assert relative.max() <= 1e-4, f"worst relative error {relative.max():.3g}"


def test_gradient_of_a_small_vector_is_exact(rng):
    """d/ds sum(squash(s) * r) against the float64 formula, at |s| = 1e-6."""
    s = capsules_of_norms(rng, [1e-6, 1e-3])
    r = rng.normal(size=s.shape)
    grad = gradient(lambda t: ops.sum(squash(t) * ops.convert_to_tensor(r.astype("float32"))), s)
    # squash(s) = s n / (1 + n^2), n = |s|: the Jacobian is
    # n/(1+n^2) I + s s^T (1 - n^2) / (n (1 + n^2)^2).
    s64 = s.astype(np.float64)
    n = np.linalg.norm(s64, axis=-1, keepdims=True)
    expected = n / (1 + n**2) * r + s64 * np.sum(s64 * r, -1, keepdims=True) * (1 - n**2) / (
        n * (1 + n**2) ** 2
    )
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=0)
