"""Datasets stay uint8 in memory; `capsnet.data.batches` scales them a batch at a time."""

import keras
import numpy as np
import pytest

import capsnet
from capsnet import data, training
from capsnet.commands.evaluate import lengths_and_reconstructions
from capsnet.data import examples
from capsnet.data.batches import Batches, Examples, as_float


def test_as_float_is_each_byte_over_255():
    expected = np.array([value / 255 for value in range(256)]).astype(np.float32)  # Python's division
    got = as_float(np.arange(256, dtype=np.uint8))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    floats = np.linspace(0, 1, 5, dtype=np.float32)
    assert as_float(floats) is floats  # already what the model takes: not copied


def test_examples_are_the_training_models_inputs_and_targets():
    images = np.arange(16, dtype=np.uint8).reshape(4, 2, 2, 1)
    (x, y), (target_y, target_x) = Examples(images, np.array([2, 0, 1, 2]), 3)[[3, 1]]
    np.testing.assert_allclose(x, images[[3, 1]] / 255, rtol=1e-7)
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0]])
    assert target_x is x and target_y is y  # the reconstruction target is the input image
    (alone,) = Examples(images)[1:3]  # without labels: images only, for prediction
    assert alone.shape == (2, 2, 2, 1) and alone.dtype == np.float32


def _visited(batched):
    """The first input of every batch of one epoch, concatenated."""
    return np.concatenate([batched[index][0][0].ravel() for index in range(len(batched))])


def test_each_epoch_visits_every_example_once_in_an_order_fixed_by_seed_and_epoch():
    examples = Examples(np.arange(23, dtype=np.float32).reshape(23, 1, 1, 1), np.zeros(23, int), 1)
    batched = Batches(examples, batch_size=5, seed=3)
    assert len(batched) == 5 and len(batched[4][0][0]) == 3  # the last batch is the rest
    epochs = []
    for epoch in range(3):
        batched.on_epoch_end()  # Keras calls it at moments of its own: it must change nothing
        batched.set_epoch(epoch)
        epochs.append(_visited(batched))
        assert sorted(epochs[-1]) == list(range(23))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # A run resumed at epoch 2 visits the images as the uninterrupted run did.
    np.testing.assert_array_equal(_visited(Batches(examples, 5, seed=3, epoch=2)), epochs[2])
    np.testing.assert_array_equal(_visited(Batches(examples, 5)), np.arange(23))  # no seed: in order
    with pytest.raises(IndexError):
        batched[5]


@pytest.mark.slow  # trains
@pytest.mark.one_backend
def test_training_on_bytes_equals_training_on_their_floats_and_never_scales_the_whole_set(
    tmp_path, monkeypatch
):
    sample = data.load("sample", subset=40)
    sample = sample._replace(x_test=sample.x_test[:30], y_test=sample.y_test[:30])
    assert sample.x_train.dtype == np.uint8
    floats = sample._replace(x_train=as_float(sample.x_train), x_test=as_float(sample.x_test))
    scaled = []
    monkeypatch.setattr(examples, "as_float", lambda x: scaled.append(len(x)) or as_float(x))
    weights = []
    for name, dataset in (("bytes", sample), ("floats", floats)):
        keras.utils.set_random_seed(0)
        models = capsnet.build_capsnet(routings=1, seed=0)
        training.compile_for_training(models.train)
        training.fit(
            models.train, dataset, tmp_path / name, epochs=1, batch_size=20, lr=1e-3, lr_decay=0.9,
            num_classes=10, epoch_times=[], seed=5, verbose=0,
        )  # fmt: skip
        weights.append([keras.ops.convert_to_numpy(w) for w in models.train.weights])
    assert scaled and max(scaled) <= 20, scaled  # one batch at a time, never all 40 (or 30)
    for from_bytes, from_floats in zip(*weights, strict=True):
        np.testing.assert_allclose(from_bytes, from_floats, rtol=1e-5, atol=1e-7)

    models = capsnet.build_capsnet(routings=1, seed=0)
    lengths, reconstructions = lengths_and_reconstructions(models, sample.x_test, batch_size=7)
    expected_lengths, expected_reconstructions = models.evaluate.predict(floats.x_test, verbose=0)
    np.testing.assert_allclose(lengths, expected_lengths, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstructions, expected_reconstructions, rtol=1e-5, atol=1e-6)
