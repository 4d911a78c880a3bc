"""Datasets: MNIST, Fashion-MNIST, the bundled sample, or any .npz / IDX files.

Every loader returns a `Dataset` of images shaped `(n, height, width, channels)`
and integer labels `(n,)`. 8-bit images stay uint8 (0..255), a quarter of
float32's memory; `capsnet.batches` scales them to float32 in [0, 1] a batch
at a time. Every other pixel type is converted to float32 in [0, 1] at load.
"""

import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np

from capsnet import image_folders, inputs
from capsnet.errors import CapsNetInputError

SAMPLE = Path(__file__).parent / "sample_data" / "mnist_sample.npz"
NAMES = ("mnist", "fashion_mnist", "sample")
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class Dataset(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple | None = None  # label order; from class folders, else None

    @property
    def num_classes(self):
        if self.class_names:
            return len(self.class_names)
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])


def load(name="mnist", path=None, subset=None, folders=None):
    """Load a dataset by name, or from `path` (an .npz file, an IDX folder, or
    class folders of images: `capsnet.image_folders`).

    Args:
        name: "mnist", "fashion_mnist" or "sample" (ignored when `path` is given).
        path: a file or folder to read instead of downloading; never touches the
            network.
        subset: keep only the first `subset` training images.
        folders: options for class folders (`image_folders.load_folders`'s
            image_size, channels, validation_split, strict, seed).
    """
    if path is not None and image_folders.is_image_folder_dataset(path):
        *arrays, class_names = image_folders.load_folders(path, **(folders or {}))
        data = _normalise(dict(zip(IDX_FILES, arrays, strict=True)), source=path)
        data = data._replace(class_names=class_names)
    else:
        data = _normalise(_arrays(name, path), source=path or name)
    if subset is not None:
        data = data._replace(x_train=data.x_train[:subset], y_train=data.y_train[:subset])
    return data


def _arrays(name, path):
    """The four arrays of a named dataset, or of an .npz / IDX folder at `path`."""
    if path is not None:
        return _from_path(Path(path))
    if name == "sample":
        return _from_npz(SAMPLE)
    if name == "fashion_mnist" and FASHION_MNIST_DEBIAN.is_dir():
        return _from_idx_folder(FASHION_MNIST_DEBIAN)
    if name in ("mnist", "fashion_mnist"):
        return _download(name)
    raise CapsNetInputError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")


def one_hot(labels, num_classes):
    """`(n,)` integer labels -> `(n, num_classes)` float32."""
    return np.eye(num_classes, dtype="float32")[labels]


def _download(name):
    import keras

    try:
        module = getattr(keras.datasets, name)
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as error:  # network down, blocked, or a bad cached file
        raise CapsNetInputError(
            f"could not download {name} through keras.datasets ({type(error).__name__}); "
            f"offline, pass --data PATH to an .npz with x_train/y_train/x_test/y_test or a "
            f"folder of the four IDX files, or use --dataset sample"
        ) from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _from_path(path):
    if path.is_dir():
        return _from_idx_folder(path)
    if not path.exists():
        raise CapsNetInputError(
            f"data file {path} not found; pass --data PATH to an .npz file or a folder of IDX files"
        )
    return _from_npz(path)


def _from_npz(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in IDX_FILES if key not in npz.files]
            if missing:
                raise CapsNetInputError(
                    f"{path} lacks the keys {', '.join(missing)}; an .npz needs "
                    f"x_train, y_train, x_test and y_test (the keras.datasets.mnist layout)"
                )
            return {key: npz[key] for key in IDX_FILES}
    except CapsNetInputError:
        raise
    except Exception as error:
        raise CapsNetInputError(
            f"{path} is not a readable .npz file ({type(error).__name__}: {error}); "
            f"re-create it with numpy.savez"
        ) from None


def _from_idx_folder(folder):
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem, folder / stem.replace("-idx", ".idx")]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise CapsNetInputError(
                f"{folder} has no {stem}[.gz]; an IDX folder needs the four files "
                f"{', '.join(IDX_FILES.values())} (gzipped or not)"
            )
        arrays[key] = read_idx(found)
    return arrays


def read_idx(path):
    """Read one IDX file (the MNIST format), gzipped or not, as a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
            raise ValueError("bad magic number (expected unsigned-byte IDX)")
        ndim = raw[3]
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, ValueError, EOFError) as error:
        raise CapsNetInputError(
            f"{path} is not a valid IDX file ({error}); download the original MNIST-format files"
        ) from None


def _normalise(arrays, source):
    """Check and convert the four arrays once (see `capsnet.inputs`)."""
    x_train, x_test = (_pixels(arrays[k], f"{source}: {k}") for k in ("x_train", "x_test"))
    y_train, y_test = (inputs.class_labels(arrays[k], f"{source}: {k}") for k in ("y_train", "y_test"))
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


def _pixels(x, what):
    """uint8 images kept as they are; any other pixels as float32 in [0, 1]."""
    x = inputs.image_batch(x, what)
    return x if x.dtype == np.uint8 else inputs.unit_pixels(x, what)
