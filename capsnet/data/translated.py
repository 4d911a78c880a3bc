"""Translated MNIST: each digit at a random place on a 40x40 black canvas
(Sabour et al., 2017, Section 5.2), generated from any MNIST source.

The paper trains on MNIST digits placed at random on a 40x40 background and
tests on affNIST (`capsnet.data.affnist`); its "expanded MNIST" test set is
the test digits placed the same way. A 28x28 digit fits 13 ways along each
axis: its top and left offsets are uniform over 0..12, so it is never cut.
No image is stored: an epoch is a `DigitPlan` (which digit, where), drawn
from (seed, epoch), and a batch's pixels are made when the batch is asked
for. The test plan is drawn once from a fixed seed out of the test digits,
so every run and every backend is scored on the same images.

The same machinery makes affNIST-like digits: `PlacedExamples` and
`PlacedDataset` take a layout (`Translation` here, `AffnistTransforms` there)
that draws each digit's pose and draws the digit in it.

    from capsnet import data
    moved = data.load("mnist-translated", path="mnist.npz")
    moved.input_shape, moved.num_test                # (40, 40, 1), 10000
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from capsnet.data.dataset import Dataset, one_hot
from capsnet.data.examples import DrawnExamples, as_float
from capsnet.errors import CapsNetInputError

CANVAS = 40  # the paper's canvas (and affNIST's image size)
EPOCH_SIZE = 60_000  # training images per epoch: one per MNIST training digit
TEST_SIZE = 10_000  # every MNIST test digit once
TEST_SEED = 0  # the test images are the same for every run


class DigitPlan(NamedTuple):
    """Which digit makes each image, and its pose.

    digit: `(n,)` indices into the split's digits.
    pose: `(n, k)` the layout's parameters per image (for `Translation`,
        int (top, left) offsets on the canvas).
    """

    digit: np.ndarray
    pose: np.ndarray

    def __len__(self):
        return len(self.digit)

    def part(self, selection):
        return DigitPlan(self.digit[selection], self.pose[selection])


class Translation:
    """The layout of translated MNIST: each digit pasted unchanged at a uniform
    random (top, left) on a `canvas` x `canvas` canvas, fully inside it."""

    def __init__(self, digit_shape, canvas=CANVAS):
        self.digit_shape, self.canvas = tuple(digit_shape[:2]), canvas

    def draw(self, digits, chosen, rng):
        """`(len(chosen), 2)` int64 (top, left) offsets, each uniform over 0..canvas - size."""
        room = np.array([self.canvas - self.digit_shape[0], self.canvas - self.digit_shape[1]])
        return rng.integers(0, room + 1, size=(len(chosen), 2))

    def render(self, digits, pose):
        """Digits `(n, h, w, c)` on `(n, canvas, canvas, c)` zeros at `pose`'s offsets,
        in the digits' dtype (pixels copied, never resampled)."""
        n, height, width, channels = digits.shape
        placed = np.zeros((n, self.canvas, self.canvas, channels), digits.dtype)
        rows = pose[:, 0, None, None] + np.arange(height)[None, :, None]
        cols = pose[:, 1, None, None] + np.arange(width)[None, None, :]
        placed[np.arange(n)[:, None, None], rows, cols] = digits
        return placed


def epoch_plan(layout, digits, count, rng):
    """A `DigitPlan` of `count` images of `digits`: the digits in random order,
    every digit once before any twice, each in a pose the layout draws."""
    n = len(digits)
    chosen = np.concatenate([rng.permutation(n) for _ in range(-(-count // n))])[:count]
    return DigitPlan(chosen, layout.draw(digits, chosen, rng))


def fixed_plan(layout, digits, count, seed, block=TEST_SIZE):
    """The first `count` images of an endless seeded sequence: image i is digit
    i % len(digits); the poses are drawn `block` at a time, block b from the seed
    `seed + b`, so a smaller plan is the start of a larger one."""
    chosen = np.arange(-(-count // block) * block) % len(digits)
    poses = [
        layout.draw(digits, chosen[start : start + block], np.random.default_rng(seed + start // block))
        for start in range(0, len(chosen), block)
    ]
    return DigitPlan(chosen[:count], np.concatenate(poses)[:count])


class PlacedExamples(DrawnExamples):
    """The images of a `DigitPlan`, made into model inputs by index, like
    `capsnet.data.examples.Examples`.

    `examples[indices]` is `((x, y), (y, x))`: float32 images `x` `(batch,
    canvas, canvas, c)` in [0, 1] and one-hot labels `y` `(batch, num_classes)`.
    `inputs_only()` gives `(x,)`, for prediction; `at_epoch(seed, epoch)` as
    many fresh images of the same digits (`capsnet.data.batches.Batches` asks
    for each epoch's).
    """

    def __init__(self, digits, labels, plan, num_classes, layout, targets=True):
        self.digits, self.digit_labels, self.plan = digits, labels, plan
        self.num_classes, self.layout, self.targets = num_classes, layout, targets

    @property
    def labels(self):
        """`(n,)` int64: the class of each image."""
        return self.digit_labels[self.plan.digit]

    def pixels(self, indices):
        """The images at `indices` as the layout draws them (`Translation`: the
        digits' uint8 pixels), `(batch, canvas, canvas, c)`."""
        plan = self.plan.part(indices)
        return self.layout.render(self.digits[plan.digit], plan.pose)

    def __getitem__(self, indices):
        x = as_float(self.pixels(indices))
        if not self.targets:
            return (x,)
        y = one_hot(self.digit_labels[self.plan.digit[indices]], self.num_classes)
        return (x, y), (y, x)

    def draw_plan(self, count, rng):
        """Fresh poses for `count` of the digits, chosen at random."""
        return epoch_plan(self.layout, self.digits, count, rng)


@dataclass(frozen=True)
class PlacedDataset:
    """Digits of `digits` (a `Dataset` of one digit per image) drawn on a
    canvas by `layout`: training images drawn afresh every epoch, test images once.

    It answers what training and testing ask of a `Dataset` (`input_shape`,
    `num_classes`, `train_examples`, `test_examples`, ...).
    """

    digits: Dataset
    layout: object  # `Translation` or `capsnet.data.affnist.AffnistTransforms`
    epoch_size: int = EPOCH_SIZE
    test_size: int = TEST_SIZE

    digits_per_image = 1

    @property
    def class_names(self):
        return self.digits.class_names

    @property
    def input_shape(self):
        return (self.layout.canvas, self.layout.canvas, self.digits.input_shape[-1])

    @property
    def num_classes(self):
        return self.digits.num_classes

    @property
    def num_train(self):
        return self.epoch_size

    @property
    def num_test(self):
        return self.test_size

    def train_examples(self, num_classes, seed=0):
        """`PlacedExamples` of `epoch_size` training images; `Batches` draws each epoch's afresh."""
        plan = epoch_plan(self.layout, self.digits.x_train, self.epoch_size, np.random.default_rng([seed, 0]))
        return PlacedExamples(self.digits.x_train, self.digits.y_train, plan, num_classes, self.layout)

    def test_examples(self, num_classes):
        """`PlacedExamples` of the fixed `test_size` test images (every test digit
        once, then again in new poses); a smaller test set is the start of a larger one."""
        plan = fixed_plan(self.layout, self.digits.x_test, self.test_size, TEST_SEED)
        return PlacedExamples(self.digits.x_test, self.digits.y_test, plan, num_classes, self.layout)


def check_sizes(what, digits, canvas, epoch_size, test_size):
    """Refuse counts below 1 and digits larger than the canvas, in one line each."""
    for name, value in (("epoch_size", epoch_size), ("test_size", test_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise CapsNetInputError(f"{what}'s {name} must be a count >= 1, got {value!r}")
    height, width = digits.input_shape[:2]
    if max(height, width) > canvas:
        raise CapsNetInputError(
            f"{what} puts digits of at most {canvas}x{canvas} on its canvas, got "
            f"{height}x{width} images; use MNIST-sized digits"
        )


def translated(digits, epoch_size=None, test_size=None):
    """Translated MNIST (`PlacedDataset`) of the 40x40 (or smaller) digits in `digits`.

    Args:
        digits: a `Dataset` of single digits, e.g. `capsnet.data.load("mnist")`.
        epoch_size: training images per epoch (default 60,000).
        test_size: test images (default 10,000: each MNIST test digit once).
    """
    check_sizes("translated MNIST", digits, CANVAS, epoch_size, test_size)
    layout = Translation(digits.input_shape, CANVAS)
    return PlacedDataset(digits, layout, epoch_size or EPOCH_SIZE, test_size or TEST_SIZE)
