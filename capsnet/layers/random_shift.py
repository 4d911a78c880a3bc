"""Random whole-pixel shifts, inside the compiled training step."""

import keras
from keras import ops

from capsnet.layers import validation


def shift_matrices(shifts, size, dtype):
    """One-hot matrices that move rows by `shifts`, filling with zeros.

    Args:
        shifts: `(batch,)` integer offsets.
        size: rows (or columns) in the image.

    Returns:
        `(batch, size, size)`, where `m[b] @ rows` moves the rows down by
        `shifts[b]`.
    """
    index = ops.arange(size)
    source = ops.expand_dims(index, 0) - ops.expand_dims(shifts, 1)  # (batch, size)
    return ops.cast(ops.equal(ops.expand_dims(source, 2), ops.reshape(index, (1, 1, size))), dtype)


@keras.saving.register_keras_serializable(package="capsnet")
class RandomShift(keras.layers.Layer):
    """Shift each image by up to `shift_pixels` pixels each way, zero padded.

    This is the paper's only augmentation. It runs only in training, as
    tensor ops in the model itself (two small one-hot matrix products), so it
    stays on the device and inside the compiled step. Outside training, and
    with `shift_pixels=0`, it returns its input unchanged.

    Args:
        shift_pixels: the largest shift in pixels, in each direction (2).
        seed: optional int for reproducible shifts.
        max_shift: the name of `shift_pixels` in capsnet 0.1.x, which the
            files it saved still use.

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        Same as the input.
    """

    def __init__(self, shift_pixels=2, seed=None, max_shift=None, **kwargs):
        super().__init__(**kwargs)
        name = "shift_pixels" if max_shift is None else "max_shift"
        shift_pixels = shift_pixels if max_shift is None else max_shift
        self.shift_pixels = validation.non_negative_int(name, shift_pixels)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        validation.rank("RandomShift", input_shape, 4, "(batch, height, width, channels)")

    def call(self, inputs, training=None):
        if not training or self.shift_pixels == 0:
            return inputs
        batch = ops.shape(inputs)[0]
        height, width = inputs.shape[1], inputs.shape[2]
        down, right = (
            keras.random.randint(
                (batch,), -self.shift_pixels, self.shift_pixels + 1, seed=self.seed_generator
            )
            for _ in range(2)
        )
        rows = shift_matrices(down, height, inputs.dtype)
        cols = shift_matrices(right, width, inputs.dtype)
        shifted = ops.einsum("bhk,bkwc->bhwc", rows, inputs)
        return ops.einsum("bwk,bhkc->bhwc", cols, shifted)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift_pixels": self.shift_pixels, "seed": self.seed}
