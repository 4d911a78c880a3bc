"""User images (PNG, JPEG, ...) and .npy arrays, read for prediction (`capsnet predict`)."""

from pathlib import Path

import numpy as np

from capsnet.data import validation
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
    if channels not in (1, 3):
        raise CapsNetInputError(f"{path}: images can only be fed to 1- or 3-channel models, not {channels}")
    try:
        with Image.open(path) as image:
            if channels == 1 and _high_bit_depth(image):
                pixels = _grey_16_bit(image, width, height)
            else:
                image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
                pixels = np.asarray(image, dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise CapsNetInputError(
            f"cannot read {path} as an image ({type(error).__name__}); pass a PNG/JPEG file or an .npy array"
        ) from None
    return pixels.reshape(1, height, width, channels)


def _high_bit_depth(image):
    """16-bit greyscale ("I;16" and friends, or 32-bit "I"): Pillow's convert("L") clips these."""
    return image.mode.startswith("I")


def _grey_16_bit(image, width, height):
    """A 16-bit grey image scaled by 65535 (not clipped at 255), resized as floats."""
    from PIL import Image

    pixels = np.asarray(image, dtype="float32")
    resized = Image.fromarray(pixels).resize((width, height))
    return np.clip(np.asarray(resized, dtype="float32") / 65535.0, 0.0, 1.0)


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
    batch = validation.image_batch(array, str(path))
    if batch.shape[1:] != (height, width, channels):
        raise CapsNetInputError(
            f"{path} has shape {original_shape}; the model takes ({height}, {width}, {channels}) images "
            f"(or a batch of them)"
        )
    return validation.unit_pixels(batch, str(path))
