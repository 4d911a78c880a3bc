"""Images and labels from users, checked and converted once, at the edge.

Every dataset and every image passes through here before it reaches a model.
What can be converted without guessing is converted, and a note says so (the
logger "capsnet", shown by the command line as `note: ...` on stderr);
anything else is refused with a `CapsNetInputError` that names the problem
and the fix. Nothing ambiguous is fed to a model silently.
"""

import logging

import numpy as np

from capsnet.data.dataset import Dataset
from capsnet.errors import CapsNetInputError

log = logging.getLogger("capsnet")

CHANNELS = (1, 3, 4)  # grey, colour, colour with alpha: a last axis of this size is channels


def note(message):
    """Tell the user about a conversion that was made for them."""
    log.warning(message)


def dataset_from_arrays(arrays, source):
    """Check and convert a dataset's four arrays once, into a `Dataset`.

    Args:
        arrays: a mapping with x_train, y_train, x_test, y_test (images in any
            layout `image_batch` reads, labels as `class_labels` reads).
        source: how to name the dataset in messages: its path or name.

    Returns:
        `Dataset` of `stored_pixels` images `(n, height, width, channels)` and
        int64 labels `(n,)`; class_names None.
    """
    x_train, x_test = (stored_pixels(arrays[k], f"{source}: {k}") for k in ("x_train", "x_test"))
    y_train, y_test = (class_labels(arrays[k], f"{source}: {k}") for k in ("y_train", "y_test"))
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise CapsNetInputError(
                f"{source}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels"
            )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise CapsNetInputError(
            f"{source}: train images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ"
        )
    if len(np.unique(y_train)) < 2:
        raise CapsNetInputError(
            f"{source}: y_train holds only one class ({y_train[0]}); a classifier needs "
            f"at least two classes to learn"
        )
    return Dataset(x_train, y_train, x_test, y_test)


def stored_pixels(x, what):
    """A batch of images as datasets keep them: uint8 as it is (a quarter of
    float32's memory, scaled per batch by `capsnet.data.batches`), any other
    pixels as float32 in [0, 1] (`unit_pixels`); `(n, height, width, channels)`."""
    x = image_batch(x, what)
    return x if x.dtype == np.uint8 else unit_pixels(x, what)


def unit_pixels(x, what):
    """Pixels as float32 in [0, 1], from any numeric array.

    uint8 and other integers up to 255 are divided by 255, uint16 by 65535;
    floats already in [0, 1] are kept; floats in [0, 255] with values above 1
    are divided by 255 (with a note). Refused: non-numeric arrays, NaN or Inf,
    negative values, integers or floats beyond those ranges.

    Args:
        x: array of any shape.
        what: how to name the array in messages, e.g. "data.npz: x_train".

    Returns:
        float32 array of the same shape.
    """
    x = np.asarray(x)
    if x.dtype == bool:
        return x.astype("float32")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise CapsNetInputError(
            f"{what} has dtype {x.dtype}; pixels must be numbers (uint8 0..255 or float 0..1)"
        )
    if x.size == 0:
        return x.astype("float32")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise CapsNetInputError(f"{what} has {bad} NaN or infinite pixel value(s); fix or drop those images")
    low, high = float(x.min()), float(x.max())
    if low < 0:
        raise CapsNetInputError(
            f"{what} has negative pixel values (min {low:g}); pixels must be 0..255 (integers) "
            f"or 0..1 (floats): undo any normalisation first"
        )
    if np.issubdtype(x.dtype, np.integer):
        if x.dtype == np.uint16 or high > 255:
            if high > 65535:
                raise CapsNetInputError(
                    f"{what} has integer pixel values up to {high:g}; use 8-bit (0..255) or "
                    f"16-bit (0..65535) images"
                )
            if x.dtype != np.uint16:
                note(f"{what}: integer pixels above 255 (max {high:g}): read as 16-bit, divided by 65535")
            return (x / 65535.0).astype("float32")
        return (x / 255.0).astype("float32")
    if high <= 1.0:
        return x.astype("float32")
    if high <= 255.0:
        note(f"{what}: float pixels up to {high:g}, read as 0..255 and divided by 255")
        return (x / 255.0).astype("float32")
    raise CapsNetInputError(f"{what} has float pixel values up to {high:g}; pixels must be 0..1 (or 0..255)")


def image_batch(x, what):
    """A batch of images as `(n, height, width, channels)`.

    `(n, h, w)` gains a channel axis. `(n, c, h, w)` with c in 1, 3, 4 and a
    last axis that cannot be channels is transposed to channels-last (with a
    note). An empty batch is refused.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or min(x.shape[1:]) < 1:
        raise CapsNetInputError(
            f"{what} has shape {x.shape}; expected (n, height, width) or (n, height, width, channels)"
        )
    if len(x) == 0:
        raise CapsNetInputError(f"{what} holds no images; every split needs at least one")
    if x.shape[1] in CHANNELS and x.shape[-1] not in CHANNELS:
        note(f"{what}: shape {x.shape} read as channels-first and moved to channels-last")
        x = np.moveaxis(x, 1, -1)
    return x


def class_labels(y, what, num_classes=None):
    """Labels as `(n,)` int64 class indices.

    Accepted: `(n,)` integers (or integral floats), `(n, 1)` (flattened),
    and `(n, k)` one-hot rows (exactly one 1 per row, k > 1). With `num_classes`,
    every label must be below it.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
            raise CapsNetInputError(
                f"{what} has shape {y.shape} but its rows are not one-hot (exactly one 1); "
                f"pass (n,) integer class labels"
            )
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise CapsNetInputError(
            f"{what} has shape {y.shape}; expected (n,) integer class labels or (n, classes) one-hot"
        )
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype("int64")
    if not np.issubdtype(y.dtype, np.integer):
        raise CapsNetInputError(f"{what} has dtype {y.dtype}; class labels must be integers 0, 1, 2, ...")
    if y.size and y.min() < 0:
        raise CapsNetInputError(f"{what} has negative labels (min {y.min()}); classes are numbered from 0")
    if num_classes is not None and y.size and y.max() >= num_classes:
        raise CapsNetInputError(
            f"{what} has label {y.max()} but the model knows only classes 0..{num_classes - 1}; "
            f"use data with the model's classes, or train a model on this data"
        )
    return y.astype("int64")
