"""MNIST and Fashion-MNIST through keras.datasets (downloaded once, then cached by Keras).

Keras is imported only when a download is asked for: the backend is chosen
before then.
"""

from pathlib import Path

from capsnet.errors import CapsNetInputError

# Debian's fashion-mnist package installs the IDX files here: read them instead of downloading.
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def mnist():
    """MNIST's four uint8 arrays."""
    return download("mnist")


def fashion_mnist():
    """Fashion-MNIST's four uint8 arrays, from Debian's package when it is installed."""
    if FASHION_MNIST_DEBIAN.is_dir():
        from capsnet.data.idx import read_idx_folder  # numpy on first use (see capsnet.data.registry)

        return read_idx_folder(FASHION_MNIST_DEBIAN)
    return download("fashion_mnist")


def download(name):
    """The four arrays of `keras.datasets.<name>`; a failed download says how to work offline."""
    import keras

    try:
        module = getattr(keras.datasets, name)
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as error:  # network down, blocked, or a bad cached file
        raise CapsNetInputError(
            f"could not download {name} through keras.datasets ({type(error).__name__}); "
            f"offline, pass path=PATH to an .npz with x_train/y_train/x_test/y_test or a "
            f"folder of the four IDX files, or use name='sample'"
        ) from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
