"""affNIST: its real MATLAB files, and affNIST-like digits generated from MNIST.

affNIST (Tijmen Tieleman, University of Toronto,
https://www.cs.toronto.edu/~tijmen/affNIST/) is MNIST put through "various
reasonable affine transformations" onto 40x40 images, "with significant
translations involved": 32 transformed versions of each of the 70,000 MNIST
digits. Its test set transforms the 10,000 MNIST test digits; its training and
validation sets transform 50,000 and 10,000 MNIST training digits. Sabour et
al. (2017, Section 5.2) train on translated MNIST (`capsnet.data.translated`)
and test on it.

The real files (`read_mat`, `read_mat_folder`), as the page distributes them
(read with `scipy.io.loadmat`): each .mat holds a struct `affNISTdata` whose
field `image` is `(1600, n)` uint8, one 40x40 image per column, and whose field
`label_int` is `(1, n)`. A column lists its image row by row (the first 40
values are the top row); that is how the published Python readers take it
(`image.T.reshape(n, 40, 40)`), so a column is not read in MATLAB's
column-major order, which would transpose every digit.

The generated set (`affnist_generated`) is a reconstruction, not the real set:
each MNIST digit gets a fresh random transformation drawn from the ranges
below, composed as rotation x shear x scale about the digit's centre, then a
translation that keeps the whole digit inside the 40x40 canvas. The stored
copy of the affNIST page ends before its description of the transformations,
so these are the ranges as commonly reported for affNIST, not read off the page:

    rotation    uniform within +-20 degrees
    shear       uniform within +-0.2 (columns move by shear x rows from the centre)
    scale       uniform in 0.8..1.2, vertical and horizontal each drawn apart
    translation uniform over the positions where the digit's ink, warped, lies
                fully inside the canvas

    from capsnet import data
    warped = data.load("affnist-generated", path="mnist.npz")
    real = data.load(path="affnist/test_batches")      # the 320,000 real test images
"""

import re
from pathlib import Path

import numpy as np

from capsnet.data import translated
from capsnet.data.affine import about_centres, warp
from capsnet.data.examples import as_float
from capsnet.errors import CapsNetInputError

CANVAS = 40
ROTATION = 20.0  # degrees, either way
SHEAR = 0.2  # either way
SCALE = (0.8, 1.2)  # each axis drawn apart
POSE = ("rotation", "shear", "scale_down", "scale_across", "shift_down", "shift_across")


def forward_matrices(pose):
    """The linear parts `(n, 2, 2)`, digit (row, col) -> canvas (row, col) about
    the centres, of poses `(n, 6)` (`POSE`): rotation (degrees; positive turns
    the digit anticlockwise as displayed) x shear x scale."""
    angle = np.deg2rad(pose[:, 0])
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shear = np.zeros((len(pose), 2, 2))
    shear[:, 0, 0] = shear[:, 1, 1] = 1.0
    shear[:, 1, 0] = pose[:, 1]  # col' = col + shear * row
    scale = np.zeros((len(pose), 2, 2))
    scale[:, 0, 0], scale[:, 1, 1] = pose[:, 2], pose[:, 3]
    return rotation @ shear @ scale


def ink_boxes(digits):
    """`(n, 4)` (top, bottom, left, right) rows and columns holding ink, of digits
    `(n, h, w, c)`; the whole image for a blank one."""
    ink = np.asarray(digits).reshape(*digits.shape[:3], -1).max(axis=-1) > 0
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    height, width = rows.shape[1], cols.shape[1]
    blank = ~rows.any(axis=1)
    top, bottom = rows.argmax(axis=1), height - 1 - rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), width - 1 - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([top, bottom, left, right], axis=1)
    boxes[blank] = (0, height - 1, 0, width - 1)
    return boxes


class AffnistTransforms:
    """The layout of affNIST-like digits: each digit warped by a random affine
    transformation (the module's ranges) onto a `canvas` x `canvas` canvas."""

    def __init__(self, digit_shape, canvas=CANVAS):
        self.digit_shape, self.canvas = tuple(digit_shape[:2]), canvas

    def draw(self, digits, chosen, rng):
        """Poses `(len(chosen), 6)` (`POSE`) for the digits `digits[chosen]`: the
        linear part from the ranges, then a translation uniform over the places
        where the digit's ink stays inside the canvas (centred if none)."""
        count = len(chosen)
        pose = np.empty((count, 6))
        pose[:, 0] = rng.uniform(-ROTATION, ROTATION, count)
        pose[:, 1] = rng.uniform(-SHEAR, SHEAR, count)
        pose[:, 2:4] = rng.uniform(*SCALE, size=(count, 2))
        low, high = self.shift_range(forward_matrices(pose), ink_boxes(digits[chosen]))
        fits = low <= high
        pose[:, 4:6] = np.where(fits, low + rng.random((count, 2)) * (high - low), (low + high) / 2)
        return pose

    def shift_range(self, forward, boxes):
        """`(low, high)`, each `(n, 2)`: the translations of the canvas centre that
        keep every pixel the warped ink can touch inside the canvas.

        Bilinear reading spreads a source pixel over one pixel around it, so the
        ink box grows by one pixel each way; its warped corners must stay within
        (-1, canvas) for no pixel outside 0..canvas-1 to be lit.
        """
        centre_in = (np.array(self.digit_shape) - 1) / 2
        centre_out = (self.canvas - 1) / 2
        top, bottom, left, right = (boxes + [-1, 1, -1, 1]).T
        corners = (
            np.stack(
                [np.stack(pair, -1) for pair in ((top, left), (top, right), (bottom, left), (bottom, right))],
                axis=1,
            )
            - centre_in
        )  # (n, 4, 2)
        warped = np.einsum("nij,nkj->nki", forward, corners)
        return -1 - centre_out - warped.min(axis=1), self.canvas - centre_out - warped.max(axis=1)

    def render(self, digits, pose):
        """float32 `(n, canvas, canvas, c)` in [0, 1]: digits `(n, h, w, c)` warped by `pose`."""
        matrices, offsets = about_centres(
            forward_matrices(pose), pose[:, 4:6], self.digit_shape, (self.canvas, self.canvas)
        )
        return warp(as_float(digits), matrices, offsets, (self.canvas, self.canvas))


def affnist_generated(digits, epoch_size=None, test_size=None):
    """affNIST-like digits (`capsnet.data.translated.PlacedDataset`) from the
    40x40 (or smaller) digits in `digits`: training digits transformed afresh
    each epoch, the test digits once, from a fixed seed.

    Args:
        digits: a `Dataset` of single digits, e.g. `capsnet.data.load("mnist")`.
        epoch_size: training images per epoch (default 60,000).
        test_size: test images (default 10,000: each MNIST test digit once).
    """
    translated.check_sizes("affnist-generated", digits, CANVAS, epoch_size, test_size)
    layout = AffnistTransforms(digits.input_shape, CANVAS)
    return translated.PlacedDataset(
        digits, layout, epoch_size or translated.EPOCH_SIZE, test_size or translated.TEST_SIZE
    )


# The real files -------------------------------------------------------------

SPLIT_PREFIXES = ("test", "train", "valid")  # test*, training*, validation* files or folders


def read_mat(path):
    """The four arrays of one affNIST .mat file: its images are both the
    training and the test split (`capsnet test` reads the test split)."""
    images, labels = read_affnist_file(Path(path))
    return {"x_train": images, "y_train": labels, "x_test": images, "y_test": labels}


def is_mat_folder(path):
    """Whether `path` is a folder with .mat files in it or in its sub-folders."""
    path = Path(path)
    return path.is_dir() and (any(path.glob("*.mat")) or any(path.glob("*/*.mat")))


def read_mat_folder(root):
    """The four arrays of a folder of affNIST .mat files (its own, and those of its sub-folders).

    Each file belongs to the split its path below the folder names (the outer
    name first, then the folder's own name): test* (test.mat, test_batches/),
    training* (training.mat, training_and_validation_batches/), validation*;
    files that name none are "other". The test split is the test files, else
    the other files, else the validation, else the training files; the
    training split is the training files, else the validation, else the
    other, else the test files. A folder of test batches alone is therefore
    both splits (one array, not two). Files are read in natural order (2.mat
    before 10.mat); images stay uint8.
    """
    root = Path(root)
    files = sorted([*root.glob("*.mat"), *root.glob("*/*.mat")], key=lambda file: _natural(file, root))
    groups = {prefix: [] for prefix in (*SPLIT_PREFIXES, None)}
    for file in files:
        groups[_split_of(file, root)].append(file)
    pick = {
        "test": ("test", None, "valid", "train"),
        "train": ("train", "valid", None, "test"),
    }
    chosen = {split: next(groups[g] for g in order if groups[g]) for split, order in pick.items()}
    read = {}  # a file in both splits is read once
    arrays = {}
    for split in ("train", "test"):
        if split == "test" and chosen["test"] == chosen["train"]:
            arrays.update(x_test=arrays["x_train"], y_test=arrays["y_train"])
            break
        for file in chosen[split]:
            if file not in read:
                read[file] = read_affnist_file(file)
        parts = [read[file] for file in chosen[split]]
        if len({images.shape[1:] for images, _ in parts}) > 1:
            sizes = sorted({f"{images.shape[1]}x{images.shape[2]}" for images, _ in parts})
            raise CapsNetInputError(
                f"{root} mixes images of {', '.join(sizes)} pixels; "
                f"pass path=PATH to one affNIST version's folder"
            )
        arrays[f"x_{split}"] = _joined([images for images, _ in parts])
        arrays[f"y_{split}"] = _joined([labels for _, labels in parts])
    return arrays


def read_affnist_file(path):
    """`(images (n, side, side) uint8, labels (n,))` of one affNIST .mat file.

    Raises:
        CapsNetInputError: not a MATLAB file, no `affNISTdata` struct, no
            `image` or labels in it, or images that are not square.
    """
    loadmat = _loadmat()
    try:
        contents = loadmat(path, variable_names=["affNISTdata"])
    except Exception as error:
        reason = " ".join(f"{type(error).__name__}: {error}".split())  # one line, whatever scipy says
        raise CapsNetInputError(
            f"{path} is not a readable MATLAB file ({reason}); "
            f"pass path=PATH to affNIST's .mat files, unzipped"
        ) from None
    struct = contents.get("affNISTdata")
    fields = getattr(getattr(struct, "dtype", None), "names", None) or ()
    if struct is None or "image" not in fields or struct.size != 1:
        what = "no affNISTdata" if struct is None else "an affNISTdata without an image field"
        raise CapsNetInputError(
            f"{path} holds {what}; an affNIST .mat file has a struct affNISTdata with image and label_int"
        )
    record = struct.reshape(-1)[0]
    image = np.asarray(record["image"])
    labels = _labels(record, fields, image.shape[-1], path)
    side = int(round(np.sqrt(image.shape[0]))) if image.ndim == 2 else 0
    if image.ndim != 2 or side * side != image.shape[0] or side == 0:
        raise CapsNetInputError(
            f"{path}: affNISTdata.image has shape {image.shape}; "
            f"expected (1600, n), one 40x40 image per column"
        )
    if len(labels) != image.shape[1]:
        raise CapsNetInputError(
            f"{path}: affNISTdata.image has {image.shape[1]} images but {len(labels)} labels"
        )
    # Each column lists its image row by row: transposed, the rows of (n, pixels)
    # reshape in C order. loadmat returns MATLAB's column-major data as a Fortran
    # array, so the transpose and the reshape are views, not copies.
    return image.T.reshape(-1, side, side), labels


def _labels(record, fields, count, path):
    """`(n,)` labels from label_int, else from the one-hot label_one_of_n
    (`(classes, n)` in affNIST's files; `(n, classes)` is read too)."""
    if "label_int" in fields:
        return np.asarray(record["label_int"]).reshape(-1)
    if "label_one_of_n" in fields:
        one_hot = np.atleast_2d(record["label_one_of_n"])
        return one_hot.argmax(axis=0 if one_hot.shape[1] == count else 1)
    raise CapsNetInputError(
        f"{path}: affNISTdata has no label_int or label_one_of_n; use affNIST's own files"
    )


def _loadmat():
    try:
        from scipy.io import loadmat  # only for .mat files: the rest of capsnet.data needs numpy alone
    except ImportError:
        raise CapsNetInputError("reading affNIST's .mat files needs scipy; pip install scipy") from None
    return loadmat


def _split_of(file, root):
    """The first of `SPLIT_PREFIXES` that a name on `file`'s path below `root`
    starts with (outermost first), else the one root's own name starts with."""
    for name in (*file.relative_to(root).parts, root.name):
        for prefix in SPLIT_PREFIXES:
            if name.lower().startswith(prefix):
                return prefix
    return None


def _natural(file, root):
    """A sort key that orders the numbers in names by value (2.mat before 10.mat)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", file.relative_to(root).as_posix())]


def _joined(arrays):
    """One array of `arrays` along the first axis; a single one is returned as it is (no copy)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
