"""Mixed precision: trains without NaN and the saved model reloads."""

import keras
import numpy as np
import pytest
from keras import ops

import capsnet
from capsnet.data import load, one_hot
from capsnet.data.batches import as_float
from capsnet.model_files import load_capsnet
from capsnet.training import compile_for_training

pytestmark = pytest.mark.slow  # subprocesses or training runs


@pytest.fixture
def policy(request):
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_trains_and_reloads(policy, tmp_path):
    keras.utils.set_random_seed(0)
    sample = load("sample")
    x, y = as_float(sample.x_train[:8]), one_hot(sample.y_train[:8], 10)
    models = capsnet.build_capsnet(shift_pixels=0)
    assert models.train.get_layer("digitcaps").compute_dtype == policy.split("_")[1]
    compile_for_training(models.train)
    losses = [float(models.train.train_on_batch([x, y], [y, x], return_dict=True)["loss"]) for _ in range(5)]
    assert np.all(np.isfinite(losses)) and min(losses[-2:]) < losses[0]
    lengths, reconstruction = models.evaluate(x)
    assert {keras.backend.standardize_dtype(t.dtype) for t in (lengths, reconstruction)} == {"float32"}

    path = tmp_path / "mixed.keras"
    models.train.save(path)
    keras.config.set_dtype_policy("float32")
    reloaded = load_capsnet(path).evaluate(x)[0]
    np.testing.assert_allclose(ops.convert_to_numpy(reloaded), ops.convert_to_numpy(lengths), atol=1e-2)
