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

    `skip`: the first epoch starts at its batch `skip` (a run resumed inside
    that epoch); it then has `skip` batches fewer, and the later ones all of theirs.

    The epoch comes from `set_epoch` (`FollowEpochs`), not from counting
    `on_epoch_end` calls: Keras makes a varying number of them per epoch (also
    before the first one and when an epoch stops early).
    """

    def __init__(self, examples, batch_size, seed=None, epoch=0, skip=0):
        super().__init__()
        self.source, self.batch_size, self.seed, self.epoch = examples, batch_size, seed, epoch
        self._start_epoch()
        if skip and not 0 < skip < self._batches_in_epoch():
            raise ValueError(f"skip={skip}: epoch {epoch} has {self._batches_in_epoch()} batches")
        self.skip = skip

    def _start_epoch(self):
        generated = self.seed is not None and hasattr(self.source, "at_epoch")
        self.examples = self.source.at_epoch(self.seed, self.epoch) if generated else self.source
        self.order = self._order()

    def _order(self):
        if self.seed is None:
            return np.arange(len(self.examples))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.examples))

    def _batches_in_epoch(self):
        return math.ceil(len(self.examples) / self.batch_size)

    def __len__(self):
        return self._batches_in_epoch() - self.skip

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        start = (index + self.skip) * self.batch_size
        return self.examples[self.order[start : start + self.batch_size]]

    def set_epoch(self, epoch):
        """Visit epoch `epoch`'s order from now on (`FollowEpochs` calls it as each
        epoch begins); an epoch other than the first has all of its batches."""
        if epoch != self.epoch:
            self.epoch, self.skip = epoch, 0
            self._start_epoch()


class FollowEpochs(keras.callbacks.Callback):
    """Keeps a training `Batches` on the epoch fit() is in (before the epoch's
    first batch is fetched: Keras reads its data after `on_epoch_begin`)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)
