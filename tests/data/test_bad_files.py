"""Files that are damaged, crafted or lying get one line naming the problem, never a traceback."""

import keras
import numpy as np
import pytest
from PIL import Image

from capsnet import data
from capsnet.data import pictures
from capsnet.errors import CapsNetInputError
from capsnet.model_files import load_capsnet
from tests.cli.test_bad_file_sweep import corrupt_gzip, png_claiming


def test_a_gzipped_idx_file_with_a_corrupt_stream(tmp_path):
    """gzip raises zlib.error, not OSError, when the deflate stream itself is broken."""
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(corrupt_gzip(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200))))
    with pytest.raises(CapsNetInputError, match="not a valid IDX"):
        data.read_idx(path)


def test_an_image_claiming_an_enormous_size_is_refused_by_predict(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(40_000, 40_000))
    with pytest.raises(CapsNetInputError, match="safety limit"):
        pictures.load_for_model(path, (28, 28, 1))


def test_an_image_claiming_an_enormous_size_is_skipped_in_a_folder(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "a" / "bomb.png").write_bytes(png_claiming(40_000, 40_000))
    loaded = data.load(path=str(tmp_path), folders={"validation_split": 0.5})
    assert len(loaded.x_train) + len(loaded.x_test) == 4
    with pytest.raises(CapsNetInputError, match="bomb.png"):
        data.load(path=str(tmp_path), folders={"validation_split": 0.5, "strict": True})


def test_a_keras_model_with_our_layers_but_not_our_layout(tmp_path):
    """Named like a training model and ending in our classes layer, but nothing else
    of a CapsNet: refused in one line, not a ValueError from inside the views."""
    from capsnet.layers import Length

    image = keras.Input((28, 28, 1))
    capsules = keras.layers.Reshape((10, 16))(keras.layers.Dense(160)(keras.layers.Flatten()(image)))
    lengths = Length(model_family="capsnet", name="length")(capsules)
    path = tmp_path / "foreign.keras"
    keras.Model(image, lengths, name="capsnet_train").save(path)
    with pytest.raises(CapsNetInputError, match="not laid out as a capsnet"):
        load_capsnet(path)
