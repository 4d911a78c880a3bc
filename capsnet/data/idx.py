"""IDX files (the MNIST format), gzipped or not, and folders of the four of them."""

import gzip
import zlib

import numpy as np

from capsnet.errors import CapsNetInputError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx_folder(folder):
    """The four arrays of a folder of IDX files (`IDX_FILES`, each as .gz, plain,
    or with ".idx" for "-idx" as some mirrors name them): {"x_train": uint8 `(n, h, w)`, ...}."""
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
    except (OSError, ValueError, EOFError, zlib.error) as error:  # zlib.error: a corrupt gzip stream
        raise CapsNetInputError(
            f"{path} is not a valid IDX file ({error}); download the original MNIST-format files"
        ) from None
