"""Examples held on the device (`capsnet.data.device_examples`) give the batches
the host path gives, number for number, and training from them gives the same
weights; data drawn afresh each epoch stays on the host."""

import keras
import numpy as np
import pytest

from capsnet import data, training
from capsnet.data.batches import Batches
from capsnet.data.device_examples import DeviceExamples, on_device, stored_bytes
from capsnet.data.examples import ClassExamples, Examples, as_float
from capsnet.data.multimnist import PairExamples
from capsnet.models import get_family


def _numpy(batch):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, batch)


def _every_pixel_value():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 6, 6, 1), dtype=np.uint8)
    images[0].flat[:36] = np.arange(36)
    images[1].flat[:36] = np.arange(220, 256)
    return images, rng.integers(0, 10, size=12)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_a_batch_holds_the_host_batchs_numbers(dtype):
    images, labels = _every_pixel_value()
    if dtype == "float32":
        images = as_float(images)
    host, device = Examples(images, labels, 10), DeviceExamples(images, labels, 10)
    for indices in ([3, 0, 11, 1], np.array([5]), slice(2, 9)):
        (x, y), (y2, x2) = _numpy(device[indices])
        (hx, hy), _ = host[indices]
        assert x.dtype == hx.dtype == np.float32 and y.dtype == np.float32
        np.testing.assert_array_equal(x, hx)  # pixel / 255 rounded alike, to the last bit
        np.testing.assert_array_equal(y, hy)
        np.testing.assert_array_equal(x2, hx)
        np.testing.assert_array_equal(y2, hy)
    (x,) = _numpy(DeviceExamples(images)[[7, 2]])
    np.testing.assert_array_equal(x, host[[7, 2]][0][0])


def test_only_stored_examples_move_to_the_device(tiny_npz):
    images, labels = _every_pixel_value()
    stored = Examples(images, labels, 10)
    assert stored_bytes(stored) == images.nbytes + 4 * len(labels)
    assert isinstance(on_device(stored), DeviceExamples)
    wrapped = on_device(ClassExamples(stored))
    assert isinstance(wrapped, ClassExamples) and isinstance(wrapped.examples, DeviceExamples)
    np.testing.assert_array_equal(_numpy(wrapped[[4, 1]])[0], ClassExamples(stored)[[4, 1]][0])
    pairs = data.load("multimnist", path=tiny_npz, generated={"epoch_size": 8, "test_size": 8})
    drawn = pairs.train_examples(10)
    assert isinstance(drawn, PairExamples) and stored_bytes(drawn) is None
    assert on_device(drawn) is drawn


def _trained_weights(sample, data_on_device, folder):
    keras.utils.set_random_seed(3)
    models = get_family("capsnet").build((28, 28, 1), 10, routings=1, seed=3)
    training.compile_for_training(models.train)
    training.fit(
        models.train, sample, folder, epochs=1, batch_size=10, lr=1e-3, lr_decay=0.9, num_classes=10,
        epoch_times=[], seed=2, verbose=0, data_on_device=data_on_device,
    )  # fmt: skip
    return [keras.ops.convert_to_numpy(w) for w in models.train.trainable_weights]


@pytest.mark.slow
# What fit() does with the examples (their numbers: the tests above); home by hand, to even out suites.
@pytest.mark.one_backend("tensorflow")
def test_training_from_the_device_gives_the_hosts_weights(tmp_path):
    sample = data.load("sample", subset=20)
    sample = sample._replace(x_test=sample.x_test[:10], y_test=sample.y_test[:10])
    host = _trained_weights(sample, False, tmp_path / "host")
    device = _trained_weights(sample, True, tmp_path / "device")
    for a, b in zip(host, device, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(Batches(on_device(sample.train_examples(10)), 10, seed=2)) == 2
