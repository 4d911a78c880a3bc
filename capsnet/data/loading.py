"""`load`: a registered dataset by name, or the dataset in a file or folder."""

from pathlib import Path

from capsnet.data import affnist, validation
from capsnet.data import folders as class_folders
from capsnet.data.dataset import ARRAY_NAMES, Dataset
from capsnet.data.idx import read_idx_folder
from capsnet.data.npz import read_npz
from capsnet.data.registry import dataset_loader, registered_dataset
from capsnet.errors import CapsNetInputError


def load(name="mnist", path=None, subset=None, folders=None, progress=None, generated=None):
    """Load a dataset by name, or from `path` (an .npz file, an IDX folder,
    affNIST .mat files or a folder of them: `capsnet.data.affnist`, or class
    folders of images: `capsnet.data.folders`).

    Args:
        name: a registered dataset (`capsnet.data.dataset_names()`: "mnist",
            "fashion_mnist", "sample", ...); ignored when `path` is given,
            unless it is a generated dataset ("multimnist", "mnist-translated",
            "affnist-generated"): that one is then
            made from the images in `path`.
        path: a file or folder to read instead of downloading; never touches the
            network.
        subset: keep only the first `subset` training images (of the source,
            for a generated dataset).
        folders: options for class folders (`capsnet.data.folders.load_folders`'s
            image_size, channels, validation_split, strict, seed).
        progress: for class folders, None or `progress(total)` returning a
            context manager whose `update(n)` is called as each n images decode
            (once per split; see `load_folders`), e.g. `lambda total: tqdm(total=total)`.
        generated: options of a generated dataset's generator, e.g.
            {"epoch_size": 60000, "test_size": 10000} for MultiMNIST.

    Returns:
        `Dataset`: images `(n, height, width, channels)` (uint8 for 8-bit
        images, else float32 in [0, 1]) and int64 labels `(n,)`. A generated
        dataset returns its own type (`capsnet.data.multimnist.PairedDataset`)
        with the same `input_shape`, `num_classes`, `train_examples` and
        `test_examples`.

    Raises:
        CapsNetInputError: a missing or unreadable file, or arrays that cannot
            be read without guessing (`capsnet.data.validation`).
    """
    entry = registered_dataset(name) if name is not None else None
    if entry is not None and entry.source is not None:
        source = load(entry.source, path, subset, folders, progress)
        return entry.loader(source, **(generated or {}))
    # A folder of affNIST .mat batch folders has sub-folders too: not class folders.
    if path is not None and not affnist.is_mat_folder(path) and class_folders.is_image_folder_dataset(path):
        *arrays, class_names = class_folders.load_folders(path, **(folders or {}), progress=progress)
        data = validation.dataset_from_arrays(dict(zip(ARRAY_NAMES, arrays, strict=True)), source=path)
        data = data._replace(class_names=class_names)
    elif path is not None:
        data = validation.dataset_from_arrays(_from_path(Path(path)), source=path)
    else:
        data = _registered(name)
    if subset is not None:
        data = data._replace(x_train=data.x_train[:subset], y_train=data.y_train[:subset])
    return data


def _registered(name):
    """The registered dataset `name`, checked like a user's files (a loader may return anything)."""
    arrays = dataset_loader(name)()
    if isinstance(arrays, Dataset):
        arrays = arrays._asdict()
    data = validation.dataset_from_arrays(arrays, source=name)
    class_names = arrays.get("class_names")
    return data._replace(class_names=tuple(class_names)) if class_names is not None else data


def _from_path(path):
    """The four arrays of an .npz file, an affNIST .mat file, or a folder of IDX or .mat files."""
    if path.is_dir():
        return affnist.read_mat_folder(path) if affnist.is_mat_folder(path) else read_idx_folder(path)
    if not path.exists():
        raise CapsNetInputError(
            f"data file {path} not found; pass path=PATH to an .npz file, an affNIST .mat file "
            f"or a folder of IDX files"
        )
    if path.suffix.lower() == ".mat":
        return affnist.read_mat(path)
    return read_npz(path)
