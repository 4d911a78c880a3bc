import os

import numpy as np
import pytest

from tests import rotation


def pytest_collection_modifyitems(config, items):
    """Under the rotation (tests/rotation.py), skip the `one_backend` tests whose
    home is another backend."""
    if not rotation.rotating():
        return
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    for item in items:
        home = rotation.home_of(item, config.rootpath)
        if home is not None and home != backend:
            unset = f"unset {rotation.ROTATION_VARIABLE} to run it here"
            reason = f"one_backend: runs under {home} in the rotation ({unset})"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def images(rng):
    """Seven small random 28x28x1 images in [0, 1]."""
    return rng.random((7, 28, 28, 1), dtype=np.float32)


@pytest.fixture
def one_hot():
    """One-hot labels for seven examples, classes 0..6."""
    return np.eye(10, dtype=np.float32)[np.arange(7)]


@pytest.fixture(scope="session")
def four_digits():
    """Four real MNIST test digits (classes 7, 2, 1, 0) in [0, 1], `(4, 28, 28, 1)`, and one-hot labels."""
    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        x = sample["x_test"][:4].astype("float32")[..., None] / 255
        y = np.eye(10, dtype="float32")[sample["y_test"][:4]]
    return x, y


@pytest.fixture
def capsnet_models():
    import capsnet

    return capsnet.build_capsnet()


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory):
    """30 training and 20 test images cut from the bundled MNIST sample."""
    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        arrays = {
            "x_train": sample["x_train"][:30],
            "y_train": sample["y_train"][:30],
            "x_test": sample["x_test"][:20],
            "y_test": sample["y_test"][:20],
        }
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, tiny_npz):
    """A run of `cli.py train` for one epoch on the tiny data."""
    from click.testing import CliRunner

    from capsnet import fast_ops
    from capsnet.cli import cli

    save_dir = tmp_path_factory.mktemp("run")
    with fast_ops.restored_afterwards():  # the run installs them for itself only
        result = CliRunner().invoke(
            cli,
            [
                "train",
                "--data",
                str(tiny_npz),
                "--epochs",
                "1",
                "--batch-size",
                "10",
                "--seed",
                "1",
                "--save-dir",
                str(save_dir),
                "--save-classifier",
            ],
        )
    assert result.exit_code == 0, result.output
    return save_dir


@pytest.fixture(autouse=True)
def fast_ops_of_its_own():
    """Each test starts with the fast ops registered before it: a command run
    in-process (`capsnet.backends.setup`) leaves them registered, and on JAX the
    eager calls of later tests then compile the larger fast graphs."""
    from capsnet import fast_ops

    with fast_ops.restored_afterwards():
        yield


@pytest.fixture
def fast_paths():
    """The active backend's measured fast ops, for tests that train (JAX's
    plain strided-conv gradient is ~20x slower on CPU); removed afterwards.
    tests/backends/test_fast_paths.py checks that each equals the plain op."""
    from capsnet import backends, fast_ops

    before = set(fast_ops.registered())
    backends.active().install_fast_paths()
    yield fast_ops.registered()
    for name in set(fast_ops.registered()) - before:
        fast_ops.unregister(name)
