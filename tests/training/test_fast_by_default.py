"""A Python user trains at the command line's speed without calling
`capsnet.backends.setup`: compiling a model installs the backend's fast ops."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # fresh processes

BUILD_AND_COMPILE = """
import capsnet
from capsnet import backends, fast_ops
from capsnet.training import compile_for_training
{before}
models = capsnet.build_capsnet(input_shape=(17, 17, 1), num_classes=2)
compile_for_training(models.train)
print(",".join(fast_ops.registered()))
for name in fast_ops.registered():
    fast_ops.unregister(name)
print(",".join(backends.active().install_fast_paths()))
"""


def _run(before=""):
    code = BUILD_AND_COMPILE.format(before=before)
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.rstrip("\n").split("\n")[-2:]


def test_compiling_a_model_in_a_fresh_process_installs_the_fast_paths():
    after_compile, plugin_paths = _run()
    assert after_compile == plugin_paths


def test_setup_without_fast_paths_is_respected():
    after_compile, _ = _run("backends.setup('float32', fast_paths=False)")
    assert after_compile == ""


SAVE_AND_LOAD = """
import sys, tempfile
import keras
import capsnet
from capsnet import backends
backends.setup()
models = capsnet.build_capsnet(input_shape=(17, 17, 1), num_classes=2)
folder = tempfile.mkdtemp()
models.train.save(folder + "/model.keras")
keras.saving.load_model(folder + "/model.keras")
print("tensorflow" in sys.modules)
"""


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="TensorFlow's own backend imports it")
def test_saving_and_loading_on_jax_or_torch_leaves_tensorflow_unimported():
    """Keras imports TensorFlow to ask whether an object is one of its types; the
    plug-in stops that, and with it TensorFlow's C++ log lines."""
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    done = subprocess.run(
        [sys.executable, "-c", SAVE_AND_LOAD], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert "oneDNN" not in done.stderr
