"""MultiMNIST: two overlapping digits of different classes on one canvas
(Sabour et al., 2017, Section 6), generated from any MNIST source.

Each digit is placed on a 36x36 canvas, shifted by up to 4 pixels in each
direction, and paired with a digit of another class from the same split;
the pair is merged pixel by pixel as min(a + b, 1). The authors' generator
(tensorflow/models, research/capsules, `input_data/mnist/mnist_shift.py
--multi_targets`) pairs each digit with 1,000 others; here no pair is ever
stored: an epoch is a `PairPlan` (which digits, which shifts), drawn from
(seed, epoch), and a batch's pixels are made when the batch is asked for.
The test pairs are drawn once from a fixed seed out of the test digits only,
so every run and every backend is scored on the same pairs.

    from capsnet import data
    pairs = data.load("multimnist")                # from the MNIST download
    pairs = data.load("multimnist", path="mnist.npz", generated={"test_size": 1000})
    pairs.input_shape, pairs.num_test              # (36, 36, 1), 1000
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from capsnet.data.dataset import Dataset, one_hot
from capsnet.data.examples import DrawnExamples, as_float
from capsnet.errors import CapsNetInputError

CANVAS = 36  # the paper's canvas: a 28x28 digit with 4 pixels of room on every side
EPOCH_SIZE = 60_000  # training pairs per epoch: one per MNIST training digit
TEST_SIZE = 10_000  # the paper scored 1,000 pairs per test digit (10M); an option
TEST_SEED = 0  # the test pairs are the same for every run


class PairPlan(NamedTuple):
    """Which two digits make each pair, and where each sits.

    first, second: `(n,)` indices into the split's digits (of different classes).
    first_shift, second_shift: `(n, 2)` int (down, right) offsets from the
        canvas's centre, each within +-`max_shift`.
    """

    first: np.ndarray
    second: np.ndarray
    first_shift: np.ndarray
    second_shift: np.ndarray

    def __len__(self):
        return len(self.first)

    def part(self, selection):
        return PairPlan(*(array[selection] for array in self))


def draw_pairs(labels, count, rng, max_shift):
    """A `PairPlan` of `count` pairs of digits whose `labels` differ.

    The first digits run through the split in random order (every digit
    once before any twice); each second digit is drawn uniformly from the
    digits of the other classes.
    """
    n = len(labels)
    if len(np.unique(labels)) < 2:
        raise CapsNetInputError("MultiMNIST needs digits of at least two classes to pair; use MNIST")
    first = np.concatenate([rng.permutation(n) for _ in range(-(-count // n))])[:count]
    second = rng.integers(n, size=count)
    clash = labels[second] == labels[first]
    while clash.any():  # redraw only the clashes: uniform over the other classes' digits
        second[clash] = rng.integers(n, size=int(clash.sum()))
        clash = labels[second] == labels[first]
    shifts = rng.integers(-max_shift, max_shift + 1, size=(2, count, 2))
    return PairPlan(first, second, shifts[0], shifts[1])


def on_canvas(digits, shifts, canvas):
    """Digits `(n, h, w, c)` placed on `(n, canvas, canvas, c)` zeros, each
    moved by its `(down, right)` shift from the centre."""
    n, height, width, channels = digits.shape
    placed = np.zeros((n, canvas, canvas, channels), digits.dtype)
    tops = (canvas - height) // 2 + shifts[:, 0]
    lefts = (canvas - width) // 2 + shifts[:, 1]
    for image, digit, top, left in zip(placed, digits, tops, lefts, strict=True):
        image[top : top + height, left : left + width] = digit
    return placed


def merge(first, second):
    """Pixel-wise min(a + b, 1) of two images in [0, 1] (uint8: min(a + b, 255))."""
    if first.dtype == np.uint8:
        return np.minimum(first.astype(np.uint16) + second, 255).astype(np.uint8)
    return np.minimum(first + second, 1.0)


class PairExamples(DrawnExamples):
    """The pairs of a `PairPlan` made into model inputs by index.

    `examples[indices]` is what the two-digit training model takes:
    `((x, label_1, label_2, digit_1, digit_2), (labels, digit_1, digit_2))`
    with `x` the merged pairs and `digit_k` each digit alone on its canvas
    (float32 `(batch, canvas, canvas, channels)`), `label_k` one-hot
    `(batch, num_classes)` and `labels = label_1 + label_2`, the margin
    loss's two positives. `inputs_only()` gives `(x,)`, for prediction.
    """

    def __init__(self, digits, labels, plan, num_classes, canvas=CANVAS, max_shift=None, targets=True):
        self.digits, self.digit_labels, self.plan = digits, labels, plan
        self.num_classes, self.canvas, self.targets = num_classes, canvas, targets
        self.max_shift = (canvas - digits.shape[1]) // 2 if max_shift is None else max_shift

    @property
    def labels(self):
        """`(n, 2)` int64: the two classes of each pair."""
        return np.stack([self.digit_labels[self.plan.first], self.digit_labels[self.plan.second]], axis=1)

    def pixels(self, indices):
        """(merged pairs, first digits, second digits), stored pixels `(batch, canvas, canvas, c)`."""
        plan = self.plan.part(indices)
        first = on_canvas(self.digits[plan.first], plan.first_shift, self.canvas)
        second = on_canvas(self.digits[plan.second], plan.second_shift, self.canvas)
        return merge(first, second), first, second

    def __getitem__(self, indices):
        merged, first, second = (as_float(x) for x in self.pixels(indices))
        if not self.targets:
            return (merged,)
        label_1 = one_hot(self.digit_labels[self.plan.first[indices]], self.num_classes)
        label_2 = one_hot(self.digit_labels[self.plan.second[indices]], self.num_classes)
        return (merged, label_1, label_2, first, second), (label_1 + label_2, first, second)

    def draw_plan(self, count, rng):
        """`count` fresh pairs of the digits, each of two classes, with their shifts."""
        return draw_pairs(self.digit_labels, count, rng, self.max_shift)


@dataclass(frozen=True)
class PairedDataset:
    """MultiMNIST made from `digits` (a `Dataset` of one digit per image).

    It answers what training and testing ask of a `Dataset` (`input_shape`,
    `num_classes`, `train_examples`, `test_examples`, ...); its training
    pairs are drawn afresh every epoch, its test pairs once.
    """

    digits: Dataset
    epoch_size: int = EPOCH_SIZE
    test_size: int = TEST_SIZE
    canvas: int = CANVAS

    digits_per_image = 2
    class_names = None

    @property
    def input_shape(self):
        return (self.canvas, self.canvas, self.digits.input_shape[-1])

    @property
    def num_classes(self):
        return self.digits.num_classes

    @property
    def num_train(self):
        return self.epoch_size

    @property
    def num_test(self):
        return self.test_size

    @property
    def max_shift(self):
        return (self.canvas - max(self.digits.input_shape[:2])) // 2

    def train_examples(self, num_classes, seed=0):
        """`PairExamples` of `epoch_size` training pairs; `Batches` draws each epoch's afresh."""
        rng = np.random.default_rng([seed, 0])
        plan = draw_pairs(self.digits.y_train, self.epoch_size, rng, self.max_shift)
        return PairExamples(self.digits.x_train, self.digits.y_train, plan, num_classes, self.canvas)

    def test_examples(self, num_classes):
        """`PairExamples` of the fixed `test_size` pairs of test digits: the first
        n pairs are the same whatever the size, so a smaller test set is a part of a larger one."""
        plan = fixed_pairs(self.digits.y_test, self.test_size, TEST_SEED, self.max_shift)
        return PairExamples(self.digits.x_test, self.digits.y_test, plan, num_classes, self.canvas)


def fixed_pairs(labels, count, seed, max_shift, block=TEST_SIZE):
    """The first `count` pairs of an endless seeded sequence, drawn `block` pairs
    at a time, block b from the seed `seed + b`."""
    blocks = [
        draw_pairs(labels, block, np.random.default_rng(seed + number), max_shift)
        for number in range(-(-count // block))
    ]
    return PairPlan(*(np.concatenate(arrays)[:count] for arrays in zip(*blocks, strict=True)))


def multimnist(digits, epoch_size=None, test_size=None):
    """MultiMNIST pairs (`PairedDataset`) of the 28x28 (or smaller) digits in `digits`.

    Args:
        digits: a `Dataset` of single digits, e.g. `capsnet.data.load("mnist")`.
        epoch_size: training pairs per epoch (default 60,000).
        test_size: test pairs (default 10,000).
    """
    for name, value in (("epoch_size", epoch_size), ("test_size", test_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise CapsNetInputError(f"MultiMNIST's {name} must be a count >= 1, got {value!r}")
    if max(digits.input_shape[:2]) > CANVAS:
        raise CapsNetInputError(
            f"MultiMNIST puts digits of at most {CANVAS}x{CANVAS} on its canvas, got "
            f"{digits.input_shape[0]}x{digits.input_shape[1]} images; use MNIST-sized digits"
        )
    return PairedDataset(digits, epoch_size or EPOCH_SIZE, test_size or TEST_SIZE)
