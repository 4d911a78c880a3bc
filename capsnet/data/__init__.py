"""Datasets: MNIST, Fashion-MNIST, the bundled sample, or any .npz / IDX files,
affNIST .mat files or class folders of images.

Every loader returns a `Dataset` of images shaped `(n, height, width, channels)`
and integer labels `(n,)`. 8-bit images stay uint8 (0..255), a quarter of
float32's memory; `capsnet.data.batches` scales them to float32 in [0, 1] a
batch at a time. Every other pixel type is converted to float32 in [0, 1] at load.

    from capsnet import data
    sample = data.load("sample")                    # or load(path="digits.npz")
    sample.x_train.shape, sample.num_classes        # (5000, 28, 28, 1), 10

Errors are `capsnet.errors.CapsNetInputError`, worded for a Python caller
(`pass path=PATH ...`); the command line says its options instead.

The modules, by what they read:

    registry     the dataset names (`register_dataset`, `dataset_names`)
    loading      `load`
    dataset      the `Dataset` tuple, `one_hot`
    validation   every array checked and converted once, at the edge
    downloads    MNIST and Fashion-MNIST through keras.datasets
    npz, idx     .npz files, IDX files and folders of them
    folders      class folders of images (PNG, JPEG, ...)
    sample       the bundled 5000 + 1000 MNIST digits
    multimnist   pairs of overlapping digits, generated each epoch
    translated   digits at random places on 40x40, generated each epoch
    affine       batched affine warps (bilinear, numpy)
    affnist      affNIST's .mat files, and affNIST-like digits generated each epoch
    examples     stored images cut out as model inputs, by index
    pictures     user image files and .npy arrays for `capsnet predict`
    batches      model inputs a batch at a time (imports Keras: never imported here)

Importing this package imports neither Keras nor click nor numpy: the command
line lists the dataset names before the backend is chosen. The other public
names load on first use.
"""

import importlib

from capsnet.data import downloads, sample
from capsnet.data.registry import dataset_loader, dataset_names, register_dataset, registered_dataset

register_dataset("mnist", downloads.mnist, "MNIST digits (keras.datasets), 60000 + 10000 28x28 grey")
register_dataset("fashion_mnist", downloads.fashion_mnist, "Fashion-MNIST clothes, 60000 + 10000 28x28 grey")
register_dataset("sample", sample.sample, "5000 + 1000 MNIST digits shipped with capsnet, for offline runs")


def _multimnist(digits, **generated):
    from capsnet.data.multimnist import multimnist

    return multimnist(digits, **generated)


register_dataset(
    "multimnist",
    _multimnist,
    "two overlapping MNIST digits of different classes on 36x36 (Sabour et al., 2017), made on the fly",
    source="mnist",
)


def _translated(digits, **generated):
    from capsnet.data.translated import translated

    return translated(digits, **generated)


register_dataset(
    "mnist-translated",
    _translated,
    "each MNIST digit at a random place on 40x40 (Sabour et al., 2017, Section 5.2), made on the fly",
    source="mnist",
)


def _affnist_generated(digits, **generated):
    from capsnet.data.affnist import affnist_generated

    return affnist_generated(digits, **generated)


register_dataset(
    "affnist-generated",
    _affnist_generated,
    "MNIST digits under random affNIST-like affine transformations on 40x40, made on the fly",
    source="mnist",
)

_PUBLIC = {
    "load": "capsnet.data.loading",
    "Dataset": "capsnet.data.dataset",
    "one_hot": "capsnet.data.dataset",
    "SAMPLE": "capsnet.data.sample",
    "IDX_FILES": "capsnet.data.idx",
    "read_idx": "capsnet.data.idx",
}

__all__ = [*_PUBLIC, "dataset_loader", "dataset_names", "register_dataset", "registered_dataset"]


def __getattr__(name):
    """The public names that need numpy, imported on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_PUBLIC})
