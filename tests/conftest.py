import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def images(rng):
    """Seven small random 28x28x1 images in [0, 1]."""
    return rng.random((7, 28, 28, 1), dtype=np.float32)


@pytest.fixture
def one_hot():
    """One-hot labels for seven examples, classes 0..6."""
    return np.eye(10, dtype=np.float32)[np.arange(7)]


@pytest.fixture
def capsnet_models():
    import capsnet

    return capsnet.build_capsnet()
