"""Class capsules whose transformation matrices are shared over grid positions.

`CapsuleLayer` holds one matrix W_ij per input capsule i and class j: its
weights, and the predictions u_hat `(batch, classes, inputs, dim)`, grow with
the pixels times the classes. Here every input capsule of one type t shares
W_tj, and its grid position is added to its vote (coordinate addition, as in
Hinton, Sabour & Frosst, "Matrix capsules with EM routing", 2018):

    u_hat_{j|i} = W_{t(i) j} u_i + (x_i, y_i, 0, ..., 0)

with (x_i, y_i) the centre of capsule i's grid cell, scaled to [-0.5, 0.5] so
that the grid's coordinates sum to zero: dynamic routing adds the votes up, so
under even couplings the offsets cancel, and what they add to a class capsule
is where its supporting capsules lie. The
weights no longer depend on the image size, and routing never forms u_hat:

    s_j       = sum_t W_tj (sum_{i of type t} c_ij u_i) + sum_i c_ij (x_i, y_i, 0, ...)
    u_hat . v = u_i . (W_{t(i) j}^T v_j) + (x_i, y_i) . v_j[:2]

so a step holds tensors of `(batch, classes, inputs)` couplings and
`(batch, classes, types, in_dim)` sums, not `(batch, classes, inputs, dim)`.
The values are those of Procedure 1 on the full u_hat
(tests/layers/test_shared_capsule_layer.py checks them, and their gradients,
against the numpy reference).
"""

import keras
from keras import ops

from capsnet.layers import validation
from capsnet.layers.squash import squash


def grid_coordinates(height, width):
    """`(height * width, 2)` float32: the centre (x, y) of each grid cell, row by
    row, scaled to [-0.5, 0.5] (cell (r, c) -> ((c + 0.5) / width - 0.5,
    (r + 0.5) / height - 0.5)); they sum to zero over the grid."""
    rows = (ops.arange(height, dtype="float32") + 0.5) / height - 0.5
    columns = (ops.arange(width, dtype="float32") + 0.5) / width - 0.5
    x = ops.tile(columns[None, :], (height, 1))
    y = ops.tile(rows[:, None], (1, width))
    return ops.stack([ops.reshape(x, (-1,)), ops.reshape(y, (-1,))], axis=-1)


def route_shared(inputs, kernel, grid, routings, coordinate_addition=True):
    """Procedure 1 on the votes W_{t(i) j} u_i (+ coordinates), never forming them.

    Args:
        inputs: `(batch, height * width * types, in_dim)`, ordered row, column, type.
        kernel: `(types, classes, dim, in_dim)`.
        grid: `(height, width)`.
        routings: iterations, >= 1.
        coordinate_addition: add each cell's scaled centre to the votes' first two dimensions.

    Returns:
        `(batch, classes, dim)`, in the inputs' dtype.
    """
    types, classes, dim = kernel.shape[0], kernel.shape[1], kernel.shape[2]
    positions = grid[0] * grid[1]
    u = ops.reshape(inputs, (-1, positions, types, inputs.shape[-1]))
    kernel = ops.cast(kernel, u.dtype)
    coordinates = ops.cast(grid_coordinates(*grid), u.dtype) if coordinate_addition else None
    # Couplings and logits (batch, classes, positions, types), in float32 as in `routing.route`.
    coupling = ops.ones((ops.shape(u)[0], classes, positions, types)) / classes
    logits = None
    for iteration in range(routings):
        if logits is not None:
            coupling = ops.softmax(logits, axis=1)  # over the classes j
        weighted = ops.cast(coupling, u.dtype)
        per_type = ops.einsum("bjpt,bptd->bjtd", weighted, u)  # sum over the cells of type t: c_ij u_i
        s = ops.einsum("tjed,bjtd->bje", kernel, per_type)
        if coordinates is not None:
            moved = ops.einsum("bjp,pc->bjc", ops.sum(weighted, axis=-1), coordinates)
            s = s + ops.pad(moved, ((0, 0), (0, 0), (0, dim - 2)))
        v = squash(s)
        if iteration < routings - 1:  # u_hat . v_j = u_i . (W_tj^T v_j) (+ coordinates . v_j[:2])
            agreement = ops.einsum("bptd,bjtd->bjpt", u, ops.einsum("tjed,bje->bjtd", kernel, v))
            if coordinates is not None:
                agreement = agreement + ops.einsum("pc,bjc->bjp", coordinates, v[:, :, :2])[..., None]
            agreement = ops.cast(agreement, "float32")
            logits = agreement if logits is None else logits + agreement
    return v


@keras.saving.register_keras_serializable(package="capsnet")
class SharedCapsuleLayer(keras.layers.Layer):
    """Class capsules fed by dynamic routing, one matrix per (input capsule type, class).

    Args:
        num_capsule: number of output capsules (classes).
        dim_capsule: dimensions of each output capsule (16 in the paper).
        grid: `(height, width)` of the input capsules' grid (PrimaryCaps' output
            grid: 6x6 for a 28x28 image).
        capsule_types: input capsule types per grid cell (PrimaryCaps' 32).
        routings: routing iterations, >= 1.
        coordinate_addition: add each input capsule's scaled grid position to
            the first two dimensions of its votes (needs dim_capsule >= 2).
        kernel_initializer: initializer for W; default N(0, 0.1), as `CapsuleLayer`.

    Input shape:
        `(batch, height * width * capsule_types, in_dim)`, ordered by grid row,
        then column, then type (the order of `PrimaryCapsule`'s output).

    Output shape:
        `(batch, num_capsule, dim_capsule)`.
    """

    def __init__(
        self,
        num_capsule,
        dim_capsule,
        grid,
        capsule_types,
        routings=3,
        coordinate_addition=True,
        kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_capsule = validation.positive_int("num_capsule", num_capsule)
        self.dim_capsule = validation.positive_int("dim_capsule", dim_capsule)
        if not isinstance(grid, (tuple, list)) or len(grid) != 2:
            raise ValueError(f"`grid` must be (height, width), got {grid!r}")
        self.grid = tuple(validation.positive_int("grid", side) for side in grid)
        self.capsule_types = validation.positive_int("capsule_types", capsule_types)
        self.routings = validation.positive_int("routings", routings)
        if not isinstance(coordinate_addition, bool):
            raise ValueError(f"`coordinate_addition` must be True or False, got {coordinate_addition!r}")
        if coordinate_addition and dim_capsule < 2:
            raise ValueError("coordinate_addition needs dim_capsule >= 2 (x and y go in its first two)")
        self.coordinate_addition = coordinate_addition
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.1)
        )

    def build(self, input_shape):
        validation.rank("SharedCapsuleLayer", input_shape, 3, "(batch, n_capsules, dim)")
        n_in, in_dim = input_shape[1], input_shape[2]
        expected = self.grid[0] * self.grid[1] * self.capsule_types
        if n_in != expected or in_dim is None:
            raise ValueError(
                f"SharedCapsuleLayer expects {self.grid[0]}x{self.grid[1]}x{self.capsule_types} = "
                f"{expected} input capsules of a static dimension, got {tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.capsule_types, self.num_capsule, self.dim_capsule, in_dim),
            initializer=self.kernel_initializer,
        )

    def call(self, inputs):
        return route_shared(inputs, self.kernel, self.grid, self.routings, self.coordinate_addition)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_capsule, self.dim_capsule)

    def get_config(self):
        return {
            **super().get_config(),
            "num_capsule": self.num_capsule,
            "dim_capsule": self.dim_capsule,
            "grid": list(self.grid),
            "capsule_types": self.capsule_types,
            "routings": self.routings,
            "coordinate_addition": self.coordinate_addition,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
