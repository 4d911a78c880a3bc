"""`capsnet.data` as a library: its errors name its arguments, its progress is the
caller's to draw, its registry names the datasets, and importing it stays light."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import capsnet.data
from capsnet import cli
from capsnet import data as datasets
from capsnet.commands import progress
from capsnet.errors import CapsNetInputError
from tests.helpers import assert_input_error, invoke

DATA_PACKAGE = Path(capsnet.data.__file__).parent


def write_flat_folders(root, per_class=3):
    """Class folders a/ and b/ of tiny grey PNGs, no train/ or test/ split."""
    for label, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            pixels = np.full((20, 20), 40 * label + index, np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def test_a_python_caller_is_told_the_argument_not_the_option(tmp_path):
    with pytest.raises(CapsNetInputError) as raised:
        datasets.load(path=tmp_path / "missing.npz")
    message = str(raised.value)
    assert "pass path=PATH to an .npz file" in message
    assert "--" not in message


def test_the_command_line_still_says_its_options(tmp_path):
    result = invoke("train", "--data", tmp_path / "missing.npz", "--save-dir", tmp_path / "run")
    error = assert_input_error(result, "not found", "pass --data PATH to an .npz file")
    assert "path=" not in error

    folders = write_flat_folders(tmp_path / "flat")
    result = invoke("train", "--data", folders, "--save-dir", tmp_path / "run2")
    assert_input_error(result, "add one, or pass --validation-split 0.2")


def test_no_message_of_the_data_package_names_a_command_line_option():
    """Every string in a `CapsNetInputError(...)` of capsnet/data is in library words."""
    offenders = []
    for path in sorted(DATA_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CapsNetInputError":
                for text in ast.walk(node):
                    if isinstance(text, ast.Constant) and isinstance(text.value, str) and "--" in text.value:
                        offenders.append(f"{path.name}:{text.lineno}: {text.value}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("library", "command_line"),
    [
        ("x not found; pass path=PATH to an .npz", "x not found; pass --data PATH to an .npz"),
        ("offline, or use name='sample'", "offline, or use --dataset sample"),
        ("val/ exists; leave out validation_split=FRACTION", "val/ exists; leave out --validation-split"),
        ("validation_split=1.5 must be between 0 and 1", "--validation-split 1.5 must be between 0 and 1"),
        ("add one, or pass validation_split=0.2", "add one, or pass --validation-split 0.2"),
        ("pass image_size=(H, W) to resize them all", "pass --image-size HxW to resize them all"),
        ("fix them, or leave out strict=True to skip them", "fix them, or leave out --strict to skip them"),
        # Only words of their own: not a longer name, not inside a user's path.
        ("/tmp/path=PATH/x and my_path=PATH", "/tmp/path=PATH/x and my_path=PATH"),
    ],
)
def test_library_words_become_option_words(library, command_line):
    assert cli.in_option_words(library) == command_line


def test_the_progress_callback_gets_each_splits_image_count(tmp_path):
    folders = write_flat_folders(tmp_path / "flat", per_class=5)
    calls = []

    class Recorder:
        def __init__(self, total):
            self.total, self.done = total, 0

        def __enter__(self):
            calls.append(self)
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.done += n

    data = datasets.load(path=folders, folders={"validation_split": 0.2}, progress=Recorder)
    assert [call.total for call in calls] == [len(data.x_train), len(data.x_test)]
    assert sum(call.total for call in calls) == 10  # every image of the folder
    assert all(call.done == call.total for call in calls)


def test_the_click_bar_draws_only_for_large_folders():
    with progress.reading_images(progress.PROGRESS_FROM - 1) as silent:
        silent.update(1)
    bar = progress.reading_images(progress.PROGRESS_FROM)
    assert bar.length == progress.PROGRESS_FROM and bar.label == "reading images"


def test_importing_the_data_package_imports_neither_keras_nor_click():
    code = "import sys, capsnet.data; print(sorted({'keras', 'click', 'numpy'} & set(sys.modules)))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr  # numpy too: the CLI lists names first


def test_the_registry_names_the_datasets_and_refuses_others():
    assert datasets.dataset_names()[:3] == ("mnist", "fashion_mnist", "sample")
    assert cli.DATASETS == datasets.dataset_names()
    with pytest.raises(CapsNetInputError) as raised:
        datasets.load("cifar")
    message = str(raised.value)
    assert message == "unknown dataset 'cifar'; choose one of " + ", ".join(datasets.dataset_names())
    assert "\n" not in message and "mnist, fashion_mnist, sample" in message


def test_a_registered_loader_may_build_its_arrays(monkeypatch, rng):
    """What a generated dataset (MultiMNIST, ...) does: register a loader that makes arrays."""
    from capsnet.data import registry

    monkeypatch.setattr(registry, "_DATASETS", dict(registry._DATASETS))
    x = rng.random((6, 8, 8)).astype("float32")
    arrays = {"x_train": x, "y_train": np.arange(6) % 2, "x_test": x[:2], "y_test": [0, 1]}
    datasets.register_dataset("made", lambda: arrays, "made up")
    assert "made" in datasets.dataset_names()
    made = datasets.load("made")
    assert made.x_train.shape == (6, 8, 8, 1) and made.x_train.dtype == np.float32 and made.num_classes == 2
    with pytest.raises(ValueError, match="already registered"):
        datasets.register_dataset("made", lambda: {}, "again")
