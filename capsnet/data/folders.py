"""Datasets from folders of images, one sub-folder per class.

The layout of `keras.utils.image_dataset_from_directory`, read with Pillow
(no TensorFlow needed):

    DIR/train/<class>/*.png|jpg|...    DIR/test/<class>/...   (or DIR/val/)
    DIR/<class>/*.png|jpg|...          with a validation split

Images are decoded straight into one preallocated uint8 array per split,
and stay uint8 in memory (`capsnet.data.batches` scales each batch for the model).
"""

import contextlib
from pathlib import Path

import numpy as np

from capsnet.data.validation import note
from capsnet.errors import CapsNetInputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
TEST_FOLDERS = ("test", "val")


def is_image_folder_dataset(root):
    """Whether `root` looks like class folders (rather than an IDX folder)."""
    return Path(root).is_dir() and any(entry.is_dir() for entry in Path(root).iterdir())


def load_folders(
    root, image_size=None, channels=None, validation_split=None, strict=False, seed=0, progress=None
):
    """Read DIR's images into uint8 arrays.

    Args:
        root: DIR, with train/ and test/ (or val/) class folders, or class folders directly.
        image_size: `(height, width)` to resize every image to; None: all must match.
        channels: 1 or 3; None: 1 when every image is greyscale, else 3.
        validation_split: fraction of DIR's images held out for testing when
            there is no test/ or val/ folder (stratified per class, seeded).
        strict: refuse unreadable image files instead of skipping them.
        seed: the split's seed.
        progress: None, or `progress(total)` returning a context manager whose
            `update(n)` is called as each n images decode; called once per split
            (training, then test) with its image count. `tqdm.tqdm(total=...)`
            and `click.progressbar(length=...)` fit: `capsnet.commands.progress`.

    Returns:
        `(x_train, y_train, x_test, y_test, class_names)`: uint8 images
        `(n, height, width, channels)`, int64 labels `(n,)`, class names in
        label order (sorted folder names).
    """
    root = Path(root)
    train_root = root / "train" if (root / "train").is_dir() else root
    test_root = next((root / name for name in TEST_FOLDERS if (root / name).is_dir()), None)
    class_names = _class_folders(train_root)
    if test_root is None and validation_split is None:
        raise CapsNetInputError(
            f"{root} has no test/ or val/ folder beside train/; add one, or pass validation_split=0.2"
        )
    if test_root is not None and validation_split is not None:
        raise CapsNetInputError(f"{root} has a {test_root.name}/ folder; leave out validation_split=FRACTION")
    train_files = _files(train_root, class_names)
    if test_root is not None:
        unknown = sorted(set(_class_folders(test_root)) - set(class_names))
        if unknown:
            raise CapsNetInputError(
                f"{test_root} has classes that {train_root} lacks ({', '.join(unknown[:5])}); "
                f"every test class needs training images"
            )
        test_files = _files(test_root, class_names)
    else:
        train_files, test_files = _split(train_files, validation_split, seed)
    images = _headers(train_files + test_files, strict)
    size = _common_size(images, image_size)
    grey = sum(is_greyscale_mode(mode) for _, _, mode in images.values())
    channels = channels or (1 if grey == len(images) else 3)
    converted = grey if channels == 3 else len(images) - grey
    if converted:
        what = "grey image(s) copied into R, G and B" if channels == 3 else "colour image(s) made grey"
        note(f"{root}: {converted} {what}, for a model of {channels} channel(s)")
    x_train, y_train = _decode([f for f in train_files if f[0] in images], size, channels, progress, strict)
    x_test, y_test = _decode([f for f in test_files if f[0] in images], size, channels, progress, strict)
    for split, y in (("training", y_train), ("test", y_test)):
        if len(y) == 0:
            raise CapsNetInputError(
                f"{root}: no readable {split} images; add PNG/JPEG files to the class folders"
            )
    return x_train, y_train, x_test, y_test, tuple(class_names)


def is_greyscale_mode(mode):
    """Whether a Pillow image mode holds grey pixels only (8- or 16-bit)."""
    return mode in ("1", "L", "LA", "P;L") or mode.startswith("I")


def _class_folders(folder):
    names = sorted(
        entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    )
    names = [n for n in names if n not in ("train", *TEST_FOLDERS)]
    if not names:
        raise CapsNetInputError(
            f"{folder} has no class folders; put each class's images in its own "
            f"sub-folder ({folder}/<class>/)"
        )
    return names


def _files(folder, class_names):
    """[(path, label)] of the image files under each class folder; others are counted and ignored."""
    found, ignored = [], 0
    for label, name in enumerate(class_names):
        class_folder = folder / name
        if not class_folder.is_dir():
            continue
        for path in sorted(p for p in class_folder.rglob("*") if p.is_file()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.append((path, label))
            elif not path.name.startswith("."):
                ignored += 1
    if ignored:
        note(f"{folder}: ignored {ignored} file(s) that are not images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if not found:
        raise CapsNetInputError(
            f"{folder} has no images in its class folders; add {', '.join(sorted(IMAGE_SUFFIXES))} files"
        )
    return found


def _split(files, fraction, seed):
    """Hold out `fraction` of each class (at least one image of each class that has two)."""
    if not 0 < fraction < 1:
        raise CapsNetInputError(f"validation_split={fraction} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    labels = np.array([label for _, label in files])
    test = np.zeros(len(files), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(len(members) * fraction)) if len(members) > 1 else 0
        test[rng.permutation(members)[: max(count, 1 if len(members) > 1 else 0)]] = True
    return [f for f, t in zip(files, test, strict=True) if not t], [
        f for f, t in zip(files, test, strict=True) if t
    ]


def _headers(files, strict):
    """{path: (width, height, mode)} from each file's header; unreadable files skipped (or refused)."""
    from PIL import Image, UnidentifiedImageError

    headers, unreadable = {}, []
    for path, _ in files:
        try:
            with Image.open(path) as image:
                headers[path] = (*image.size, image.mode)
        # DecompressionBombError: a header claiming too many pixels.
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            unreadable.append(path)
    _report_unreadable(unreadable, strict, "cannot be read as images")
    return headers


def _report_unreadable(unreadable, strict, why):
    """Refuse (`strict`) or note the image files in `unreadable`."""
    if not unreadable:
        return
    names = ", ".join(str(p) for p in unreadable[:3]) + (" ..." if len(unreadable) > 3 else "")
    if strict:
        raise CapsNetInputError(
            f"{len(unreadable)} file(s) {why} ({names}); fix or remove them, "
            f"or leave out strict=True to skip them"
        )
    note(f"skipped {len(unreadable)} unreadable image file(s): {names}")


def _common_size(headers, image_size):
    """`(height, width)`: `image_size`, or the one size every image has."""
    if image_size is not None:
        return tuple(image_size)
    sizes = {}
    for path, (width, height, _) in headers.items():
        sizes.setdefault((height, width), path)
    if len(sizes) > 1:
        (a, pa), (b, pb) = list(sizes.items())[:2]
        raise CapsNetInputError(
            f"the images have different sizes ({a[0]}x{a[1]} in {pa}, {b[0]}x{b[1]} in {pb}); "
            f"pass image_size=(H, W) to resize them all"
        )
    return next(iter(sizes))


def _decode(files, size, channels, progress, strict):
    """Decode `files` into one uint8 `(n, height, width, channels)` array and int64
    labels. A file whose header read but whose pixels do not (truncated, corrupt)
    is skipped with a note, or refused when `strict`."""
    from PIL import Image

    height, width = size
    x = np.empty((len(files), height, width, channels), np.uint8)
    decoded, unreadable = [], []
    with (progress or _no_progress)(len(files)) as bar:
        for index, (path, _) in enumerate(files):
            try:
                with Image.open(path) as image:
                    x[index] = _image_pixels(image, width, height, channels)
                decoded.append(index)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                unreadable.append(path)  # Pillow raises SyntaxError for some broken files
            bar.update(1)
    _report_unreadable(unreadable, strict, "their pixels cannot be decoded")
    y = np.array([files[index][1] for index in decoded], np.int64)
    # Compacted only when a file failed: a copy of the whole split otherwise.
    return (x[decoded] if unreadable else x), y


def _image_pixels(image, width, height, channels):
    """One image as uint8 `(height, width, channels)`; 16-bit grey scaled, not clipped."""
    from PIL import Image

    if image.mode.startswith("I"):
        grey = np.asarray(image, np.float32) / 65535.0 * 255.0
        image = Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8))
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height))
    return np.asarray(image).reshape(height, width, channels)


class _Silent:
    def update(self, n):
        pass


def _no_progress(total):
    """The progress of a caller that asked for none: a bar that draws nothing."""
    return contextlib.nullcontext(_Silent())
