"""User images (PNG, JPEG, ...) and .npy arrays, read for prediction (`capsnet predict`)."""

import math
import os
from pathlib import Path

import numpy as np

from capsnet.data import validation
from capsnet.errors import CapsNetInputError

# What `image_files` takes from a folder.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".npy")


def image_files(paths):
    """`paths` with each folder replaced by the image files and .npy arrays
    under it (`IMAGE_SUFFIXES`, any depth, hidden ones left out), in sorted
    order; files pass as they are (`load_for_model` checks them).

    Raises:
        CapsNetInputError: a folder holds none.
    """
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise CapsNetInputError(
                f"folder {path} holds no image files ({', '.join(IMAGE_SUFFIXES)}); "
                f"pass a folder of images, or the files themselves"
            )
        yield from found


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
    if invert:
        return 1.0 - batch
    if input_shape[-1] == 1 and looks_dark_on_light(batch):
        validation.note(
            f"{path} looks dark on light (a bright border); models trained on MNIST-like data expect "
            f"light strokes on dark: pass invert=True if the answer looks wrong"
        )
    return batch


def looks_dark_on_light(batch):
    """Whether grey images `(n, h, w, 1)` in [0, 1] look like dark strokes on a
    light ground: a bright border (mean >= 0.6) around darker pixels (some <= 0.4)."""
    border = np.concatenate(
        [batch[:, 0].ravel(), batch[:, -1].ravel(), batch[:, :, 0].ravel(), batch[:, :, -1].ravel()]
    )
    return bool(border.mean() >= 0.6 and batch.min() <= 0.4)


def _picture(path, input_shape):
    from PIL import Image, UnidentifiedImageError

    height, width, channels = input_shape
    if channels not in (1, 3):
        raise CapsNetInputError(f"{path}: images can only be fed to 1- or 3-channel models, not {channels}")
    try:
        with Image.open(path) as image:
            _note_channel_change(path, image.mode, channels)
            if channels == 1 and _high_bit_depth(image):
                pixels = _grey_16_bit(image, width, height)
            else:
                image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
                pixels = np.asarray(image, dtype="float32") / 255.0
    except Image.DecompressionBombError:
        raise CapsNetInputError(
            f"{path}'s header claims more pixels than Pillow's safety limit of "
            f"{2 * Image.MAX_IMAGE_PIXELS:,} (a decompression bomb, or a damaged file); pass a smaller image"
        ) from None
    except (UnidentifiedImageError, OSError) as error:
        raise CapsNetInputError(
            f"cannot read {path} as an image ({type(error).__name__}); pass a PNG/JPEG file or an .npy array"
        ) from None
    return pixels.reshape(1, height, width, channels)


def _note_channel_change(path, mode, channels):
    """Tell the user when a grey image meets a colour model, or the other way round."""
    from capsnet.data.folders import is_greyscale_mode

    grey = is_greyscale_mode(mode)
    if grey and channels == 3:
        validation.note(f"{path} is a grey image; the model takes colour: its grey is copied to R, G and B")
    elif not grey and channels == 1:
        validation.note(f"{path} is a colour image; the model takes grey: converted to grey (luminance)")


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
        _check_npy_size(path)
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


def _check_npy_size(path):
    """Refuse an .npy file whose header claims more data than the file holds (numpy
    would first try to allocate all of it): a ValueError naming both sizes."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(f)
        held = os.fstat(f.fileno()).st_size - f.tell()
    claimed = math.prod(shape) * dtype.itemsize
    if not dtype.hasobject and claimed > held:
        raise ValueError(
            f"its header claims shape {shape} of {dtype}, {claimed:,} bytes, but it holds {held:,}"
        )
