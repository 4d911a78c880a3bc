"""Every kind of file the command line reads, damaged every way we could think of:
each gives one line `Error: ...`, exit code 2, and leaves every file as it was.

The cases are listed in docs/known-problems.md ("Bad files"); add a row there with
each case added here.
"""

import gzip
import hashlib
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from capsnet.data import SAMPLE
from tests.helpers import assert_input_error, invoke

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]  # the command line, a model loaded per case

PRESET = "efficient-capsnet-mnist"


def digit(index=0):
    """One bundled MNIST test digit, uint8 `(28, 28)`."""
    with np.load(SAMPLE) as sample:
        return sample["x_test"][index]


def encoded(format_name):
    """A valid image file's bytes: the digit as PNG, JPEG, BMP or GIF."""
    buffer = io.BytesIO()
    Image.fromarray(digit()).save(buffer, format=format_name)
    return buffer.getvalue()


def truncated(raw):
    return raw[: len(raw) // 2]


def png_with_corrupt_pixels():
    """A PNG whose IDAT chunk's compressed pixels are garbage, with a correct CRC."""
    raw = bytearray(encoded("PNG"))
    start = raw.index(b"IDAT")
    length = struct.unpack(">I", raw[start - 4 : start])[0]
    garbage = bytes((7 * i) % 251 for i in range(length))
    raw[start + 4 : start + 4 + length] = garbage
    raw[start + 4 + length : start + 8 + length] = struct.pack(">I", zlib.crc32(b"IDAT" + garbage))
    return bytes(raw)


def png_claiming(width, height):
    """A PNG whose header claims `width` x `height` pixels (a decompression bomb's header)."""
    raw = bytearray(encoded("PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(raw[24:29])
    raw[12:29] = header
    raw[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(raw)


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_claiming(shape):
    """An .npy header claiming `shape` (float32) over the data of one digit."""
    raw = npy(digit().astype("float32") / 255)
    header_end = raw.index(b"\n") + 1
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}"
    header = header.ljust(header_end - 10 - 1) + "\n"
    return raw[:8] + struct.pack("<H", len(header)) + header.encode() + raw[header_end:]


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def good_npz():
    with np.load(SAMPLE) as sample:
        return npz_bytes(**{key: sample[key][:20] for key in ("x_train", "y_train", "x_test", "y_test")})


def idx_bytes(array):
    return (
        bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    )


# name -> (file name, bytes); each is given to `predict --weights PRESET FILE`.
PREDICT_INPUTS = {
    "png truncated": ("digit.png", lambda: truncated(encoded("PNG"))),
    "png corrupt pixels": ("digit.png", png_with_corrupt_pixels),
    "png header claims 40000x40000": ("digit.png", lambda: png_claiming(40_000, 40_000)),
    "png empty": ("digit.png", lambda: b""),
    "png is text": ("digit.png", lambda: b"not an image\n"),
    "jpeg truncated": ("digit.jpg", lambda: truncated(encoded("JPEG"))),
    "jpeg empty": ("digit.jpg", lambda: b""),
    "bmp truncated": ("digit.bmp", lambda: truncated(encoded("BMP"))),
    "gif truncated": ("digit.gif", lambda: truncated(encoded("GIF"))),
    "npy truncated": ("digit.npy", lambda: truncated(npy(digit().astype("float32") / 255))),
    "npy header claims 10^12 images": ("digit.npy", lambda: npy_claiming((10**12, 28, 28))),
    "npy empty": ("digit.npy", lambda: b""),
    "npy is text": ("digit.npy", lambda: b"0.5 0.5\n"),
    "npy of strings": ("digit.npy", lambda: npy(np.array(["a", "b"]))),
    "npy pickled objects": ("digit.npy", lambda: npy(np.array([{"a": 1}], dtype=object))),
}


@pytest.mark.parametrize("case", PREDICT_INPUTS)
def test_predict_refuses_each_bad_input_file(tmp_path, case):
    name, make = PREDICT_INPUTS[case]
    path = tmp_path / name
    path.write_bytes(make())
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert_input_error(invoke("predict", "--weights", PRESET, path), name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def corrupt_gzip(raw):
    """`raw` gzipped, with bytes inside the deflate stream (after the 10-byte header) overwritten."""
    packed = bytearray(gzip.compress(raw))
    packed[12:30] = b"\xff" * 18
    return bytes(packed)


def idx_folder_with(tmp_path, stem, content):
    """The four MNIST IDX files of 20 bundled digits, one of them replaced by `content`."""
    with np.load(SAMPLE) as sample:
        arrays = {
            "train-images-idx3-ubyte": sample["x_train"][:20],
            "train-labels-idx1-ubyte": sample["y_train"][:20].astype("uint8"),
            "t10k-images-idx3-ubyte": sample["x_test"][:20],
            "t10k-labels-idx1-ubyte": sample["y_test"][:20].astype("uint8"),
        }
    folder = tmp_path / "idx"
    folder.mkdir()
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_bytes(array))
    (folder / stem.removesuffix(".gz")).unlink()
    (folder / stem).write_bytes(content)
    return folder


def lying_idx():
    """An IDX header claiming 60,000 images over the bytes of 20."""
    with np.load(SAMPLE) as sample:
        raw = idx_bytes(sample["x_test"][:20])
    return raw[:4] + struct.pack(">I", 60_000) + raw[8:]


def folder_of(tmp_path, files):
    """Class folders train/<class>/<file> and test/<class>/<file> holding `files` bytes."""
    root = tmp_path / "folders"
    for split in ("train", "test"):
        for label in ("a", "b"):
            (root / split / label).mkdir(parents=True)
            for name, raw in files.items():
                (root / split / label / name).write_bytes(raw)
    return root


def npz_file(raw):
    def make(tmp_path):
        path = tmp_path / "data.npz"
        path.write_bytes(raw())
        return path

    return make


# name -> a function of tmp_path making what `test --weights PRESET --data X` reads.
DATA_INPUTS = {
    "npz truncated": npz_file(lambda: truncated(good_npz())),
    "npz empty": npz_file(lambda: b""),
    "npz is a png": npz_file(lambda: encoded("PNG")),
    "npz without x_test": npz_file(lambda: npz_bytes(x_train=digit()[None], y_train=np.array([1]))),
    "npz with pickled objects": npz_file(
        lambda: npz_bytes(x_train=np.array([{}], dtype=object), y_train=[1], x_test=[1], y_test=[1])
    ),
    "npz member corrupt": npz_file(lambda: good_npz()[:200] + b"\0" * 200 + good_npz()[400:]),
    "idx truncated": lambda tmp_path: idx_folder_with(
        tmp_path, "t10k-images-idx3-ubyte", truncated(idx_bytes(digit()[None].repeat(20, 0)))
    ),
    "idx header lies about its count": lambda tmp_path: idx_folder_with(
        tmp_path, "t10k-images-idx3-ubyte", lying_idx()
    ),
    "idx empty": lambda tmp_path: idx_folder_with(tmp_path, "t10k-labels-idx1-ubyte", b""),
    "idx gzip stream corrupt": lambda tmp_path: idx_folder_with(
        tmp_path, "t10k-images-idx3-ubyte.gz", corrupt_gzip(idx_bytes(digit()[None].repeat(20, 0)))
    ),
    "folders of unreadable images": lambda tmp_path: folder_of(
        tmp_path, {"0.png": b"", "1.png": truncated(encoded("PNG"))}
    ),
    "folders empty": lambda tmp_path: folder_of(tmp_path, {}),
}


@pytest.mark.parametrize("case", DATA_INPUTS)
def test_test_refuses_each_bad_data_source(tmp_path, case):
    source = DATA_INPUTS[case](tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert_input_error(invoke("test", "--weights", PRESET, "--data", source))
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == before
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files


def preset_bytes():
    from capsnet.models import resolve_preset

    return resolve_preset(PRESET).read_bytes()


def rezipped(raw, entry, content=None):
    """The zip archive `raw` with `entry` replaced by `content`, or left out (None)."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.namelist():
            if item != entry:
                archive.writestr(item, source.read(item))
            elif content is not None:
                archive.writestr(item, content)
    return buffer.getvalue()


# name -> the bytes of a `.keras` file given to `predict --weights FILE`.
MODEL_FILES = {
    "keras truncated": lambda: truncated(preset_bytes()),
    "keras empty": lambda: b"",
    "keras is a png": lambda: encoded("PNG"),
    "keras without config.json": lambda: rezipped(preset_bytes(), "config.json"),
    "keras config.json not json": lambda: rezipped(preset_bytes(), "config.json", b"{not json"),
    "keras weights corrupt": lambda: rezipped(preset_bytes(), "model.weights.h5", b"\0" * 1000),
    "keras without weights": lambda: rezipped(preset_bytes(), "model.weights.h5"),
    "keras is a zip of text": lambda: rezipped(
        rezipped(preset_bytes(), "model.weights.h5"), "config.json", b"[]"
    ),
}


@pytest.mark.parametrize("case", MODEL_FILES)
def test_predict_refuses_each_bad_model_file(tmp_path, case):
    weights = tmp_path / "model.keras"
    weights.write_bytes(MODEL_FILES[case]())
    image = tmp_path / "digit.png"
    image.write_bytes(encoded("PNG"))
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (weights, image)}
    assert_input_error(invoke("predict", "--weights", weights, image), "model.keras")
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (weights, image)} == before
