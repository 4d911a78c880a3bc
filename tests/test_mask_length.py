import numpy as np
from keras import ops

from capsnet import Length, Mask


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
