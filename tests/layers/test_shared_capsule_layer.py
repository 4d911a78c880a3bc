"""SharedCapsuleLayer: one matrix per (capsule type, class), coordinate addition,
and routing without the full predictions, against the numpy reference."""

import numpy as np
import pytest
from keras import ops

from capsnet.layers import CapsuleLayer, SharedCapsuleLayer
from capsnet.layers.shared_capsule_layer import grid_coordinates, route_shared
from tests import reference
from tests.helpers import central_differences, gradient

GRID, TYPES = (3, 2), 4  # 24 input capsules


@pytest.fixture
def capsules(rng):
    u = rng.normal(size=(2, GRID[0] * GRID[1] * TYPES, 8)).astype("float32") * 0.5
    W = rng.normal(size=(TYPES, 5, 16, 8)).astype("float32") * 0.3
    return u, W


def shared(W, routings, coordinate_addition=True):
    layer = SharedCapsuleLayer(
        W.shape[1], W.shape[2], GRID, TYPES, routings=routings, coordinate_addition=coordinate_addition
    )
    layer.build((None, GRID[0] * GRID[1] * TYPES, W.shape[3]))
    layer.kernel.assign(W)
    return layer


@pytest.mark.parametrize("coordinate_addition", [True, False])
@pytest.mark.parametrize("routings", [1, 3])
def test_matches_procedure_1_on_the_shared_votes(capsules, routings, coordinate_addition):
    u, W = capsules
    v = ops.convert_to_numpy(shared(W, routings, coordinate_addition)(u))
    u_hat = reference.shared_votes(u, W, GRID, coordinate_addition)
    np.testing.assert_allclose(v, reference.route_votes(u_hat, routings), atol=2e-5, rtol=1e-4)


def test_without_coordinates_it_is_capsule_layer_with_each_types_matrix_repeated(capsules):
    u, W = capsules
    repeated = np.tile(W, (GRID[0] * GRID[1], 1, 1, 1))  # input i = (position, type) gets W[type]
    plain = CapsuleLayer(W.shape[1], W.shape[2], routings=3)
    plain.build(u.shape)
    plain.kernel.assign(repeated)
    np.testing.assert_allclose(
        ops.convert_to_numpy(shared(W, 3, coordinate_addition=False)(u)),
        ops.convert_to_numpy(plain(u)),
        atol=2e-6,
        rtol=1e-5,
    )


def test_coordinates_move_the_votes_and_so_the_result(capsules):
    u, W = capsules
    with_them = ops.convert_to_numpy(shared(W, 3, True)(u))
    without = ops.convert_to_numpy(shared(W, 3, False)(u))
    assert not np.allclose(with_them, without, atol=1e-4)


@pytest.mark.parametrize("routings", [1, 3])
def test_gradients_of_inputs_and_weights_match_central_differences_of_the_reference(capsules, routings):
    u, W = capsules
    u, W = u[:1], W[:, :3, :, :3]  # 1 example, 3 classes, 3 input dimensions: few differences to take
    u = np.ascontiguousarray(u[..., :3])
    R = np.random.default_rng(0).normal(size=(1, W.shape[1], W.shape[2]))
    weights = ops.convert_to_tensor(R.astype("float32"))

    def objective(x, kernel):
        return np.sum(reference.route_votes(reference.shared_votes(x, kernel, GRID), routings) * R)

    def routed(x, kernel):
        return ops.sum(route_shared(x, kernel, GRID, routings) * weights)

    grad_u = gradient(lambda x: routed(x, ops.convert_to_tensor(W)), u)
    numeric_u = central_differences(lambda x: objective(x, W), u, 1e-4)
    np.testing.assert_allclose(grad_u, numeric_u, atol=2e-3, rtol=2e-2)
    grad_w = gradient(lambda k: routed(ops.convert_to_tensor(u), k), W)
    numeric_w = central_differences(lambda k: objective(u, k), W, 1e-4)
    np.testing.assert_allclose(grad_w, numeric_w, atol=2e-3, rtol=2e-2)


def test_its_weights_do_not_grow_with_the_grid():
    small = SharedCapsuleLayer(10, 16, (6, 6), 32)
    large = SharedCapsuleLayer(10, 16, (50, 50), 32)
    small.build((None, 6 * 6 * 32, 8))
    large.build((None, 50 * 50 * 32, 8))
    assert small.count_params() == large.count_params() == 32 * 10 * 16 * 8


def test_grid_coordinates_are_the_cell_centres_row_by_row():
    np.testing.assert_allclose(
        ops.convert_to_numpy(grid_coordinates(2, 4)),
        [[x, y] for y in (-0.25, 0.25) for x in (-0.375, -0.125, 0.125, 0.375)],
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grid": (6,)}, "(height, width)"),
        ({"grid": (6, 0)}, "grid"),
        ({"dim_capsule": 1}, "dim_capsule >= 2"),
        ({"coordinate_addition": "yes"}, "True or False"),
        ({"capsule_types": 0}, "capsule_types"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message):
    arguments = {"num_capsule": 10, "dim_capsule": 16, "grid": (6, 6), "capsule_types": 32, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SharedCapsuleLayer(**arguments)


def test_inputs_that_do_not_fill_the_grid_are_refused():
    with pytest.raises(ValueError, match="6x6x32 = 1152"):
        SharedCapsuleLayer(10, 16, (6, 6), 32).build((None, 1000, 8))
