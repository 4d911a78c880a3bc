"""Examples: stored images and labels cut out as model inputs, by index (numpy only).

Datasets keep their pixels as loaded (uint8 for 8-bit images); an
`Examples` object scales only the images a batch asks for.
"""

import copy

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

    def inputs_only(self):
        """The same images without labels: `examples[indices]` is `(x,)`, for prediction."""
        return Examples(self.images)


class DrawnExamples:
    """Base of examples drawn from stored digits by a plan (which digits, and how
    each is placed), drawn afresh for each epoch: MultiMNIST pairs
    (`capsnet.data.multimnist.PairExamples`) and translated or transformed
    digits (`capsnet.data.translated.PlacedExamples`).

    A subclass keeps `plan` (a NamedTuple of arrays with `part(selection)`) and
    `targets` (False: `examples[indices]` is the images alone), and defines
    `draw_plan(count, rng)`: a fresh plan of `count` examples of its digits.
    """

    def __len__(self):
        return len(self.plan)

    def part(self, selection):
        """The examples at `selection` (a slice or indices)."""
        return self._with(plan=self.plan.part(selection))

    def inputs_only(self):
        """The same images without targets: `examples[indices]` is `(x,)`, for prediction."""
        return self._with(targets=False)

    def at_epoch(self, seed, epoch):
        """As many fresh examples of the same digits, drawn from (seed, epoch)."""
        return self._with(plan=self.draw_plan(len(self), np.random.default_rng([seed, epoch])))

    def _with(self, **changes):
        """A shallow copy with the attributes in `changes` replaced."""
        changed = copy.copy(self)
        vars(changed).update(changes)
        return changed


class ClassExamples:
    """Examples for a model that takes the image alone and scores the classes.

    `examples[indices]` is `(x, y)`: the images and the one-hot labels of the
    wrapped examples' `((x, y), (y, x))` (an `Examples`, or examples generated
    afresh each epoch, whose `at_epoch` it passes on). `inputs_only()` gives
    the wrapped examples' `(x,)`.
    """

    def __init__(self, examples):
        self.examples = examples

    def __len__(self):
        return len(self.examples)

    @property
    def labels(self):
        return self.examples.labels

    def __getitem__(self, indices):
        (x, y), _ = self.examples[indices]
        return x, y

    def part(self, selection):
        return ClassExamples(self.examples.part(selection))

    def inputs_only(self):
        return self.examples.inputs_only()

    def __getattr__(self, name):
        # `at_epoch` only where the wrapped examples have it (Batches asks with hasattr).
        if name != "at_epoch":
            raise AttributeError(name)
        at_epoch = self.examples.at_epoch
        return lambda seed, epoch: ClassExamples(at_epoch(seed, epoch))
