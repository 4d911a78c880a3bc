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

from capsnet.data.examples import Examples, as_float  # noqa: F401  (part of this module's API)


class Batches(keras.utils.PyDataset):
    """`Examples` in batches for Keras's fit, evaluate and predict.

    With a `seed`, epoch e visits the examples in the order of a permutation
    drawn from (seed, e), the same on every backend, so a resumed run goes on
    with the order the uninterrupted run would have had. Without one, in order.
    Examples generated afresh each epoch (`capsnet.data.multimnist.PairExamples`)
    have an `at_epoch(seed, epoch)` method, asked for each epoch's examples.
    """

    def __init__(self, examples, batch_size, seed=None, epoch=0):
        super().__init__()
        self.source, self.batch_size, self.seed, self.epoch = examples, batch_size, seed, epoch
        self._start_epoch()

    def _start_epoch(self):
        generated = self.seed is not None and hasattr(self.source, "at_epoch")
        self.examples = self.source.at_epoch(self.seed, self.epoch) if generated else self.source
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
        self._start_epoch()
