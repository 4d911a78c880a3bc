"""Translated MNIST: each digit pasted whole at a random place on 40x40, checked
pixel by pixel against plain slicing of the source digit."""

import numpy as np
import pytest

from capsnet import data
from capsnet.data.translated import CANVAS, Translation, translated
from capsnet.errors import CapsNetInputError


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A tiny MNIST cut: 200 training and 100 test digits of the bundled sample."""
    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        arrays = {"x_train": sample["x_train"][:200], "y_train": sample["y_train"][:200]}
        arrays.update(x_test=sample["x_test"][:100], y_test=sample["y_test"][:100])
    path = tmp_path_factory.mktemp("mnist") / "digits.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def moved(digits):
    return data.load("mnist-translated", path=digits, generated={"epoch_size": 300, "test_size": 250})


def find_offset(canvas, digit):
    """The one (top, left) where `digit` sits in `canvas` with zeros around it, by search."""
    size = CANVAS - digit.shape[0] + 1
    found = []
    for top in range(size):
        for left in range(size):
            rest = canvas.copy()
            if np.array_equal(rest[top : top + 28, left : left + 28], digit):
                rest[top : top + 28, left : left + 28] = 0
                if not rest.any():
                    found.append((top, left))
    assert len(found) == 1, found
    return found[0]


def test_images_are_40x40_with_one_label_each(moved):
    assert moved.input_shape == (CANVAS, CANVAS, 1) == (40, 40, 1)
    assert (moved.num_classes, moved.num_train, moved.num_test, moved.digits_per_image) == (10, 300, 250, 1)
    assert moved.class_names is None
    examples = moved.train_examples(10)
    (x, y), (target_y, target_x) = examples[np.arange(len(examples))]
    assert x.shape == (300, 40, 40, 1) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert y.shape == (300, 10) and y.sum(axis=1).tolist() == [1.0] * 300
    assert target_y is y and target_x is x
    assert examples.labels.shape == (300,) and examples.labels.dtype == np.int64
    np.testing.assert_array_equal(np.argmax(y, axis=1), examples.labels)


def test_each_image_is_its_digit_unchanged_and_whole_at_one_offset(moved):
    examples = moved.test_examples(10)
    pixels = examples.pixels(np.arange(40))
    assert pixels.dtype == np.uint8
    for i in range(40):
        digit = moved.digits.x_test[examples.plan.digit[i], ..., 0]
        top, left = find_offset(pixels[i, ..., 0], digit)
        assert (top, left) == tuple(examples.plan.pose[i])
        assert int(pixels[i].sum()) == int(digit.sum())  # never cut by the border
    (x, _), _ = examples[np.arange(40)]
    np.testing.assert_allclose(x, pixels / 255.0, atol=1e-7)


def test_offsets_are_uniform_over_0_to_12_on_each_axis():
    layout = Translation((28, 28, 1))
    offsets = layout.draw(np.zeros((1, 28, 28, 1)), np.zeros(26_000, int), np.random.default_rng(5))
    for axis in range(2):
        counts = np.bincount(offsets[:, axis], minlength=13)
        assert len(counts) == 13  # 0..12, nothing beyond
        assert np.all(np.abs(counts - 2000) < 250), counts  # 2000 expected, sd ~43
    assert abs(np.corrcoef(offsets.T)[0, 1]) < 0.03  # the two axes drawn apart


def test_smaller_digits_get_more_room_and_full_size_ones_none():
    layout = Translation((20, 20, 1))
    offsets = layout.draw(None, np.zeros(5000, int), np.random.default_rng(0))
    assert offsets.min() == 0 and offsets.max() == 20
    assert Translation((40, 40, 1)).draw(None, np.zeros(10, int), np.random.default_rng(0)).max() == 0


def test_same_seed_same_images_and_each_epoch_new_ones(moved):
    examples = moved.train_examples(10)
    first, again, later = examples.at_epoch(7, 0), examples.at_epoch(7, 0), examples.at_epoch(7, 1)
    np.testing.assert_array_equal(first.plan.pose, again.plan.pose)
    np.testing.assert_array_equal(first.pixels(np.arange(20)), again.pixels(np.arange(20)))
    assert not np.array_equal(first.plan.pose, later.plan.pose)
    assert not np.array_equal(first.plan.digit, later.plan.digit)
    assert sorted(first.plan.digit[:200]) == list(range(200))  # every digit once before any twice


def test_the_test_set_is_fixed_every_digit_once_then_again_elsewhere(moved, digits):
    examples = moved.test_examples(10)
    fresh = data.load("mnist-translated", path=digits, generated={"test_size": 250}).test_examples(10)
    np.testing.assert_array_equal(examples.pixels(np.arange(250)), fresh.pixels(np.arange(250)))
    assert examples.plan.digit.tolist() == [i % 100 for i in range(250)]
    np.testing.assert_array_equal(examples.labels, moved.digits.y_test[np.arange(250) % 100])
    assert not np.array_equal(examples.plan.pose[:100], examples.plan.pose[100:200])


def test_a_smaller_test_set_is_the_start_of_a_larger_one(moved):
    small = translated(moved.digits, test_size=30).test_examples(10)
    large = translated(moved.digits, test_size=25_000).test_examples(10)
    assert len(large) == 25_000 and len(translated(moved.digits).test_examples(10)) == 10_000
    np.testing.assert_array_equal(small.plan.pose, large.plan.pose[:30])
    np.testing.assert_array_equal(small.pixels(np.arange(30)), large.pixels(np.arange(30)))
    assert not np.array_equal(large.plan.pose[:10_000], large.plan.pose[10_000:20_000])


def test_training_and_test_images_never_mix_digits(moved):
    train, test = moved.train_examples(10), moved.test_examples(10)
    assert train.digits is moved.digits.x_train and test.digits is moved.digits.x_test
    assert train.plan.digit.max() < 200 and test.plan.digit.max() < 100


def test_inputs_only_and_parts(moved):
    examples = moved.test_examples(10)
    (x,) = examples.inputs_only()[np.arange(4)]
    np.testing.assert_array_equal(x, examples[np.arange(4)][0][0])
    part = examples.part(slice(0, 10))
    assert len(part) == 10
    np.testing.assert_array_equal(part.labels, examples.labels[:10])
    np.testing.assert_array_equal(part[:][0][0], examples[np.arange(10)][0][0])


def test_batches_draw_fresh_images_each_epoch_from_seed_and_epoch(moved):
    from capsnet.data.batches import Batches  # imports Keras

    batches = Batches(moved.train_examples(10), 50, seed=3)
    epoch_0 = batches[0][0][0]
    batches.set_epoch(1)
    epoch_1 = batches[0][0][0]
    resumed = Batches(moved.train_examples(10), 50, seed=3, epoch=1)
    assert epoch_0.shape == (50, 40, 40, 1) and not np.array_equal(epoch_0, epoch_1)
    np.testing.assert_array_equal(epoch_1, resumed[0][0][0])


def test_bad_sizes_and_large_digits_are_one_line_input_errors(moved):
    with pytest.raises(CapsNetInputError, match="epoch_size must be a count >= 1") as raised:
        translated(moved.digits, epoch_size=0)
    assert "\n" not in str(raised.value)
    with pytest.raises(CapsNetInputError, match="test_size"):
        translated(moved.digits, test_size=2.5)
    big = moved.digits._replace(x_train=np.zeros((2, 41, 41, 1), np.uint8))
    with pytest.raises(CapsNetInputError, match="at most 40x40") as raised:
        translated(big)
    assert "\n" not in str(raised.value)


def test_both_new_datasets_are_registered_as_made_from_mnist():
    for name in ("mnist-translated", "affnist-generated"):
        assert name in data.dataset_names()
        assert data.registered_dataset(name).source == "mnist"
