"""Part `prepare` (on the CPU machine, before a GPU call): fill `.whl/` for `carry`.

A device call sends the repository, not `../shared` beside it, and nothing can
be downloaded there. So this copies into the git-ignored folder `.whl/`:
    *.whl               keras and the two requirements the GPU image lacks
    mnist.npz           MNIST in keras.datasets layout (from ../shared/data)
    fashion_mnist.npz   Fashion-MNIST in the same layout, made from Debian's IDX
                        files (`apt-get install -y dataset-fashion-mnist`)
and checks that the folder is ignored and small enough to carry.
"""

import shutil
import subprocess

import numpy as np

from tools.gpu.context import REPO, UsageError, say

CARRY_LIMIT_MB = 64  # the device tool's limit on the tree plus carried paths


def run(settings):
    """Copy the wheels and MNIST, build Fashion-MNIST's .npz; returns "done"."""
    dest = settings.data_dir
    dest.mkdir(parents=True, exist_ok=True)
    _check_ignored(dest)
    wheels = sorted((settings.shared / "wheels").glob("*.whl"))
    if not wheels:
        raise UsageError(
            f"no wheels in {settings.shared / 'wheels'}; pass --shared DIR (the folder holding wheels/)"
        )
    for wheel in wheels:
        shutil.copyfile(wheel, dest / wheel.name)
    say(f"prepare: {len(wheels)} wheels into {dest}")
    mnist = settings.shared / "data" / "mnist.npz"
    if not mnist.is_file():
        raise UsageError(f"{mnist} not found; pass --shared DIR (the folder holding data/mnist.npz)")
    shutil.copyfile(mnist, dest / "mnist.npz")
    say(f"prepare: {mnist} -> {dest / 'mnist.npz'}")
    fashion = dest / "fashion_mnist.npz"
    np.savez_compressed(fashion, **idx_folder_arrays(settings.fashion_idx))
    say(f"prepare: {settings.fashion_idx} -> {fashion}")
    for path in (dest / "mnist.npz", fashion):
        _check_layout(path)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) / 2**20
    say(f"prepare: {dest} holds {size:.1f} MB; carry it with the tree (limit {CARRY_LIMIT_MB} MB in all)")
    return "done"


def idx_folder_arrays(folder):
    """The four IDX files of `folder` (gzipped or not) as uint8 arrays, keras.datasets layout."""
    from capsnet.data import IDX_FILES, read_idx

    if not folder.is_dir():
        raise UsageError(
            f"{folder} not found; install Debian's dataset-fashion-mnist or pass --fashion-idx DIR"
        )
    arrays = {}
    for key, stem in IDX_FILES.items():
        found = next((p for p in (folder / f"{stem}.gz", folder / stem) if p.is_file()), None)
        if found is None:
            raise UsageError(f"{folder} has no {stem}[.gz]; pass --fashion-idx DIR with the four IDX files")
        arrays[key] = read_idx(found)
    return arrays


def smoke_data(path, train=100, test=50):
    """A small .npz cut from the bundled MNIST sample, for --smoke runs."""
    from capsnet.data import SAMPLE

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with np.load(SAMPLE) as sample:
        arrays = {k: sample[k][:train] if k.endswith("train") else sample[k][:test] for k in sample.files}
    np.savez(path, **arrays)
    return path


def _check_layout(path):
    with np.load(path) as npz:
        shapes = {key: npz[key].shape for key in ("x_train", "y_train", "x_test", "y_test")}
    if shapes["x_train"][1:] != (28, 28) or shapes["x_train"][0] != shapes["y_train"][0]:
        raise UsageError(f"{path} has shapes {shapes}; expected the keras.datasets.mnist layout")


def _check_ignored(dest):
    done = subprocess.run(["git", "check-ignore", "-q", str(dest)], cwd=REPO, capture_output=True)
    if done.returncode != 0:
        raise UsageError(
            f"{dest} is not ignored by git, so its files would travel as the tree; "
            f"use --data-dir .whl (ignored in .gitignore)"
        )
