import gzip

import numpy as np
import pytest

from capsnet import data
from capsnet.errors import CapsNetInputError


def write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype("uint8").tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder(tmp_path, rng, compress):
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28)),
        "y_train": np.arange(6) % 3,
        "x_test": rng.integers(0, 256, (4, 28, 28)),
        "y_test": np.arange(4) % 3,
    }
    for key, stem in data.IDX_FILES.items():
        write_idx(tmp_path / stem, arrays[key], compress)
    loaded = data.load(path=tmp_path)
    assert loaded.x_train.dtype == np.uint8  # kept at a byte a pixel; scaled per batch
    np.testing.assert_array_equal(loaded.x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(loaded.y_test, arrays["y_test"])
    assert loaded.input_shape == (28, 28, 1) and loaded.num_classes == 3


def test_bad_idx_file(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(CapsNetInputError, match="not a valid IDX"):
        data.read_idx(tmp_path / "bad")


def test_sample_is_real_mnist():
    sample = data.load("sample")
    assert sample.x_train.shape == (5000, 28, 28, 1) and sample.x_test.shape == (1000, 28, 28, 1)
    assert sample.x_train.dtype == np.uint8 and sample.x_train.max() == 255
    assert set(np.unique(sample.y_train)) == set(range(10))


def test_subset_and_one_hot():
    sample = data.load("sample", subset=7)
    assert len(sample.x_train) == 7 and len(sample.x_test) == 1000
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_one_hot_labels_and_float_images_accepted(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x_train=np.full((2, 5, 5, 3), 0.5, "float32"),
        y_train=np.eye(2),
        x_test=np.zeros((1, 5, 5, 3), "float32"),
        y_test=np.array([1]),
    )
    loaded = data.load(path=path)
    assert loaded.x_train.max() == 0.5 and list(loaded.y_train) == [0, 1]


def test_unknown_name():
    with pytest.raises(CapsNetInputError, match="unknown dataset 'cifar'"):
        data.load("cifar")
