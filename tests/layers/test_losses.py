import numpy as np
from keras import ops

from capsnet import margin_loss, reconstruction_loss
from tests import reference


def test_margin_loss_hand_computed():
    T = np.array([[1, 0, 0], [0, 0, 1]], dtype="float32")
    lengths = np.array([[0.6, 0.3, 0.05], [0.95, 0.1, 0.2]], dtype="float32")
    # example 1: (0.9-0.6)^2 + 0.5*(0.3-0.1)^2 + 0            = 0.09 + 0.02 = 0.11
    # example 2: 0.5*(0.95-0.1)^2 + 0 + (0.9-0.2)^2           = 0.36125 + 0.49 = 0.85125
    per_example = ops.convert_to_numpy(margin_loss(T, lengths))
    np.testing.assert_allclose(per_example, [0.11, 0.85125], rtol=1e-6)
    np.testing.assert_allclose(per_example.mean(), reference.margin_loss(T, lengths), rtol=1e-6)


def test_margin_loss_is_zero_when_confident():
    T = np.eye(4, dtype="float32")
    lengths = 0.95 * T + 0.05 * (1 - T)
    assert np.all(ops.convert_to_numpy(margin_loss(T, lengths)) == 0.0)


def test_reconstruction_loss_hand_computed():
    images = np.zeros((2, 2, 2, 1), dtype="float32")
    recon = np.full((2, 2, 2, 1), 0.5, dtype="float32")
    # mean squared error 0.25, times 0.392
    got = float(ops.convert_to_numpy(reconstruction_loss(images, recon)))
    np.testing.assert_allclose(got, 0.098, rtol=1e-6)
    got = float(ops.convert_to_numpy(reconstruction_loss(images, recon, lam_recon=2.0)))
    np.testing.assert_allclose(got, 0.5, rtol=1e-6)


def test_reconstruction_weight_equals_paper_sum():
    rng = np.random.default_rng(0)
    images, recon = rng.random((2, 2, 28, 28, 1), dtype=np.float32)
    paper = 0.0005 * np.mean(np.sum((images - recon) ** 2, axis=(1, 2, 3)))
    got = float(ops.convert_to_numpy(reconstruction_loss(images, recon)))
    np.testing.assert_allclose(got, paper, rtol=1e-4)
