import numpy as np
import pytest

import capsnet


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True])
def test_routings_must_be_positive_int(bad):
    with pytest.raises(ValueError, match=f"routings={bad!r}"):
        capsnet.CapsuleLayer(10, 16, routings=bad)
    with pytest.raises(ValueError, match="routings"):
        capsnet.build_capsnet(routings=bad)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_capsule": -10, "dim_capsule": 16}, "num_capsule=-10"),
        ({"num_capsule": 10, "dim_capsule": 0}, "dim_capsule=0"),
    ],
)
def test_capsule_layer_dims(kwargs, name):
    with pytest.raises(ValueError, match=name):
        capsnet.CapsuleLayer(**kwargs)


def test_primary_capsule_dims():
    with pytest.raises(ValueError, match="dim_capsule=-8"):
        capsnet.PrimaryCapsule(32, -8)
    with pytest.raises(ValueError, match="num_channels=0"):
        capsnet.PrimaryCapsule(0, 8)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match="rank 3"):
        capsnet.CapsuleLayer(10, 16)(np.zeros((2, 1152), dtype="float32"))
    with pytest.raises(ValueError, match="rank 4"):
        capsnet.PrimaryCapsule()(np.zeros((2, 20, 20), dtype="float32"))


@pytest.mark.parametrize("shape", [(28, 28), (28, -28, 1), (0, 28, 1)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        capsnet.build_capsnet(input_shape=shape)


def test_image_smaller_than_kernel():
    with pytest.raises(ValueError, match="at least 17x17 pixels"):
        capsnet.build_capsnet(input_shape=(12, 12, 1))


def test_bad_shift_and_recon_weight():
    with pytest.raises(ValueError, match="shift_pixels=-1"):
        capsnet.RandomShift(-1)
    with pytest.raises(ValueError, match="lam_recon=-0.1"):
        capsnet.ReconstructionLoss(-0.1)
