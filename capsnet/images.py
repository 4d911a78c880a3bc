"""Reading user images (PNG, JPEG, ...) and .npy arrays for prediction."""

from pathlib import Path

import numpy as np

from capsnet.errors import CapsNetInputError


def load_for_model(path, input_shape, invert=False):
    """Images from one file, converted to the model's input.

    Args:
        path: an image file (any size, grey or colour) or an .npy array shaped
            `(h, w)`, `(h, w, c)`, `(n, h, w)` or `(n, h, w, c)`.
        input_shape: the model's `(height, width, channels)`.
        invert: turn dark-on-light images into MNIST's light-on-dark.

    Returns:
        float32 `(n, height, width, channels)` in [0, 1].
    """
    path = Path(path)
    if not path.is_file():
        raise CapsNetInputError(f"input {path} not found; pass image files (PNG/JPEG) or an .npy array")
    batch = _npy(path, input_shape) if path.suffix.lower() == ".npy" else _picture(path, input_shape)
    return 1.0 - batch if invert else batch


def _picture(path, input_shape):
    from PIL import Image, UnidentifiedImageError

    height, width, channels = input_shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
            pixels = np.asarray(image, dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise CapsNetInputError(
            f"cannot read {path} as an image ({type(error).__name__}); pass a PNG/JPEG file or an .npy array"
        ) from None
    if channels not in (1, 3):
        raise CapsNetInputError(f"{path}: images can only be fed to 1- or 3-channel models, not {channels}")
    return pixels.reshape(1, height, width, channels)


def _npy(path, input_shape):
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise CapsNetInputError(f"cannot read {path} as a .npy array ({error})") from None
    height, width, channels = input_shape
    original_shape = array.shape
    if array.ndim == 2 or (
        array.ndim == 3 and array.shape[-1] == channels and array.shape[:2] == (height, width)
    ):
        array = array[None]
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[1:] != (height, width, channels):
        raise CapsNetInputError(
            f"{path} has shape {original_shape}; the model takes ({height}, {width}, {channels}) images "
            f"(or a batch of them)"
        )
    if np.issubdtype(array.dtype, np.integer):
        return array.astype("float32") / 255.0
    return array.astype("float32")
