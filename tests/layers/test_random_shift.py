import numpy as np
from keras import ops

from capsnet import RandomShift
from capsnet.layers.random_shift import shift_matrices
from tests import reference


def test_shift_matrices_move_pixels_with_zero_fill(rng):
    images = rng.random((5, 6, 7, 2), dtype=np.float32)
    down = np.array([0, 1, -2, 2, -1], dtype="int32")
    right = np.array([2, -1, 0, -2, 1], dtype="int32")
    rows = shift_matrices(down, 6, "float32")
    cols = shift_matrices(right, 7, "float32")
    shifted = ops.einsum("bhk,bkwc->bhwc", rows, images)
    shifted = ops.convert_to_numpy(ops.einsum("bwk,bhkc->bhwc", cols, shifted))
    for b in range(5):
        np.testing.assert_array_equal(shifted[b], reference.shift(images[b], down[b], right[b]))


def test_identity_outside_training(images):
    layer = RandomShift(2)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(images)), images)
    np.testing.assert_array_equal(ops.convert_to_numpy(RandomShift(0)(images, training=True)), images)


def test_training_shifts_by_at_most_shift_pixels(images):
    out = ops.convert_to_numpy(RandomShift(2, seed=3)(images, training=True))
    for b in range(len(images)):
        candidates = [reference.shift(images[b], dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(out[b], c) for c in candidates)
    assert not np.array_equal(out, images)


def test_reads_the_config_of_0_1_x_files():
    """capsnet 0.1.x saved the layer's shift as `max_shift`; those configs still load."""
    layer = RandomShift.from_config({"name": "random_shift", "max_shift": 3, "seed": 1})
    assert layer.shift_pixels == 3
    assert layer.get_config()["shift_pixels"] == 3 and "max_shift" not in layer.get_config()
