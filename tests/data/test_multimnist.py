"""The MultiMNIST generator against the float64 reference of the paper's recipe."""

import numpy as np
import pytest

from capsnet import data
from capsnet.data.batches import Batches
from capsnet.data.multimnist import CANVAS, PairExamples, draw_pairs, merge, on_canvas
from capsnet.errors import CapsNetInputError
from tests import reference


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """MultiMNIST of a tiny MNIST cut: 200 training and 100 test digits."""
    from capsnet.data import SAMPLE

    with np.load(SAMPLE) as sample:
        arrays = {"x_train": sample["x_train"][:200], "y_train": sample["y_train"][:200]}
        arrays.update(x_test=sample["x_test"][:100], y_test=sample["y_test"][:100])
    path = tmp_path_factory.mktemp("mnist") / "digits.npz"
    np.savez(path, **arrays)
    return data.load("multimnist", path=path, generated={"epoch_size": 300, "test_size": 50})


def test_pairs_are_36x36_with_two_labels_of_different_classes(pairs):
    assert pairs.input_shape == (CANVAS, CANVAS, 1) == (36, 36, 1)
    assert (pairs.num_classes, pairs.num_train, pairs.num_test, pairs.digits_per_image) == (10, 300, 50, 2)
    examples = pairs.train_examples(10)
    (x, label_1, label_2, digit_1, digit_2), (labels, target_1, target_2) = examples[np.arange(len(examples))]
    assert x.shape == digit_1.shape == digit_2.shape == (300, 36, 36, 1) and x.dtype == np.float32
    assert label_1.shape == label_2.shape == (300, 10)
    assert np.all(np.argmax(label_1, 1) != np.argmax(label_2, 1))
    np.testing.assert_array_equal(labels, label_1 + label_2)
    assert labels.sum(axis=1).tolist() == [2.0] * 300
    assert target_1 is digit_1 and target_2 is digit_2


def test_each_pair_is_the_references_shifted_digits_merged_as_min_of_the_sum(pairs):
    examples = pairs.test_examples(10)
    plan = examples.plan
    x, first, second = (part / 255.0 for part in examples.pixels(np.arange(6)))
    for i in range(6):
        merged, a, b = reference.multimnist_pair(
            pairs.digits.x_test[plan.first[i]] / 255.0,
            pairs.digits.x_test[plan.second[i]] / 255.0,
            CANVAS,
            plan.first_shift[i],
            plan.second_shift[i],
        )
        np.testing.assert_allclose(first[i], a, atol=1e-12)
        np.testing.assert_allclose(second[i], b, atol=1e-12)
        np.testing.assert_allclose(x[i], merged, atol=1.5 / 255)  # uint8 sums rounded once


def test_shifts_stay_within_four_pixels_and_use_the_whole_range():
    rng = np.random.default_rng(0)
    labels = np.arange(1000) % 10
    plan = draw_pairs(labels, 5000, rng, max_shift=4)
    for shifts in (plan.first_shift, plan.second_shift):
        assert shifts.min() == -4 and shifts.max() == 4
    digits = np.full((5000, 28, 28, 1), 255, np.uint8)
    placed = on_canvas(digits[:200], plan.first_shift[:200], 36)
    assert np.all(placed.reshape(200, -1).sum(axis=1) == 255 * 28 * 28)  # never cut by the border


def test_every_digit_is_a_first_digit_once_before_any_is_twice():
    labels = np.arange(50) % 5
    plan = draw_pairs(labels, 120, np.random.default_rng(1), max_shift=4)
    assert sorted(plan.first[:50]) == list(range(50)) == sorted(plan.first[50:100])
    assert np.all(labels[plan.first] != labels[plan.second])


def test_merge_clips_at_one_in_uint8_and_float():
    a = np.array([[200, 10]], np.uint8)
    b = np.array([[100, 20]], np.uint8)
    assert merge(a, b).tolist() == [[255, 30]]
    np.testing.assert_allclose(merge(a / 255.0, b / 255.0), [[1.0, 30 / 255]])


def test_same_seed_same_pairs_and_each_epoch_new_ones(pairs):
    examples = pairs.train_examples(10)
    first = examples.at_epoch(7, 0)
    again = examples.at_epoch(7, 0)
    second_epoch = examples.at_epoch(7, 1)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.pixels(np.arange(20))[0], again.pixels(np.arange(20))[0])
    assert not np.array_equal(first.labels, second_epoch.labels)
    np.testing.assert_array_equal(pairs.test_examples(10).labels, pairs.test_examples(10).labels)


def test_batches_draw_fresh_pairs_each_epoch_from_seed_and_epoch(pairs):
    batches = Batches(pairs.train_examples(10), 50, seed=3)
    epoch_0 = batches[0][0][0]
    batches.set_epoch(1)
    epoch_1 = batches[0][0][0]
    resumed = Batches(pairs.train_examples(10), 50, seed=3, epoch=1)
    assert not np.array_equal(epoch_0, epoch_1)
    np.testing.assert_array_equal(epoch_1, resumed[0][0][0])


def test_training_and_test_pairs_never_mix_digits(pairs):
    train, test = pairs.train_examples(10), pairs.test_examples(10)
    assert train.digits is pairs.digits.x_train and test.digits is pairs.digits.x_test
    assert max(train.plan.first.max(), train.plan.second.max()) < 200
    assert max(test.plan.first.max(), test.plan.second.max()) < 100


def test_inputs_only_and_parts(pairs):
    examples = pairs.test_examples(10)
    (x,) = examples.inputs_only()[np.arange(4)]
    np.testing.assert_array_equal(x, examples[np.arange(4)][0][0])
    assert len(examples.part(slice(0, 10))) == 10
    np.testing.assert_array_equal(examples.part(slice(0, 10)).labels, examples.labels[:10])


def test_bad_sizes_and_single_class_digits_are_input_errors(pairs):
    with pytest.raises(CapsNetInputError, match="epoch_size"):
        data.multimnist.multimnist(pairs.digits, epoch_size=0)
    with pytest.raises(CapsNetInputError, match="two classes"):
        draw_pairs(np.zeros(10, int), 5, np.random.default_rng(0), 4)
    big = pairs.digits._replace(x_train=np.zeros((2, 40, 40, 1), np.uint8))
    with pytest.raises(CapsNetInputError, match="at most 36x36"):
        data.multimnist.multimnist(big)


def test_pair_examples_work_on_smaller_canvases():
    digits = np.full((4, 16, 16, 1), 255, np.uint8)
    labels = np.array([0, 1, 2, 3])
    plan = draw_pairs(labels, 8, np.random.default_rng(0), max_shift=4)
    examples = PairExamples(digits, labels, plan, 4, canvas=24)
    assert examples[np.arange(8)][0][0].shape == (8, 24, 24, 1)


def test_a_smaller_test_set_is_the_start_of_a_larger_one(pairs):
    small = data.multimnist.multimnist(pairs.digits, test_size=30).test_examples(10)
    large = data.multimnist.multimnist(pairs.digits, test_size=25_000).test_examples(10)
    assert len(large) == 25_000
    np.testing.assert_array_equal(small.labels, large.labels[:30])
    np.testing.assert_array_equal(small.pixels(np.arange(30))[0], large.pixels(np.arange(30))[0])
