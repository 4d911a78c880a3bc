import numpy as np
from keras import ops

from capsnet import squash
from tests import reference
from tests.gradients import gradient


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
