"""Model inputs made from stored pixels one batch at a time.

Datasets keep their images as loaded: uint8 for MNIST, IDX files and image
folders (a quarter of float32's memory). A batch is scaled to float32 in
[0, 1] only when the model asks for it, so training on a large folder of
images holds the uint8 arrays and a batch or two of floats, never a float32
copy of the whole dataset.
"""

import math

import keras
import numpy as np

from capsnet.data.dataset import one_hot


def as_float(x):
    """Pixels as models take them: float32 in [0, 1] (uint8 is divided by 255).

    Args:
        x: uint8 `(..., height, width, channels)` in 0..255, or float32 in [0, 1].
    """
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return (x / 255.0).astype("float32")  # the rounding of `capsnet.data.validation.unit_pixels`
    return x.astype("float32", copy=False)


class Examples:
    """Images with (optionally) their labels, cut out and made into model inputs by index.

    `examples[indices]` is what the training model takes, `((x, y), (y, x))`:
    float32 images `x` `(batch, height, width, channels)` and one-hot labels
    `y` `(batch, num_classes)` (the decoder's input and the reconstruction
    target). Without labels it is `(x,)`, for prediction.
    """

    def __init__(self, images, labels=None, num_classes=None):
        self.images, self.labels, self.num_classes = images, labels, num_classes

    def __len__(self):
        return len(self.images)

    def __getitem__(self, indices):
        x = as_float(self.images[indices])
        if self.labels is None:
            return (x,)
        y = one_hot(self.labels[indices], self.num_classes)
        return (x, y), (y, x)

    def part(self, selection):
        """The examples at `selection` (a slice or indices)."""
        labels = None if self.labels is None else self.labels[selection]
        return Examples(self.images[selection], labels, self.num_classes)


class Batches(keras.utils.PyDataset):
    """`Examples` in batches for Keras's fit, evaluate and predict.

    With a `seed`, epoch e visits the examples in the order of a permutation
    drawn from (seed, e), the same on every backend, so a resumed run goes on
    with the order the uninterrupted run would have had. Without one, in order.
    """

    def __init__(self, examples, batch_size, seed=None, epoch=0):
        super().__init__()
        self.examples, self.batch_size, self.seed, self.epoch = examples, batch_size, seed, epoch
        self.order = self._order()

    def _order(self):
        if self.seed is None:
            return np.arange(len(self.examples))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.examples))

    def __len__(self):
        return math.ceil(len(self.examples) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        return self.examples[self.order[index * self.batch_size : (index + 1) * self.batch_size]]

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()
