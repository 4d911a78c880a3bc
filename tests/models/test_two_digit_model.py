"""The two-digit (MultiMNIST) model: losses, masks, metric and files against the reference."""

import keras
import numpy as np
import pytest
from keras import ops

import capsnet
from capsnet import metrics, models, training
from capsnet.commands.evaluate import found_classes, per_class_of_pairs
from capsnet.data.multimnist import PairExamples, draw_pairs
from capsnet.layers import Mask
from capsnet.model_files import atomic_save, load_capsnet
from capsnet.models.capsule_views import digits_per_image
from tests import reference
from tests.models.test_whole_model import keras_weights

CANVAS = 24  # 16x16 digits with 4 pixels of room: small enough for the float64 reference


@pytest.fixture(scope="module")
def small_pairs(four_digits):
    """Six pairs of 16x16 crops of real digits on a 24x24 canvas, as the model takes them."""
    x, y = four_digits
    crops = np.round(x[:, 6:22, 6:22] * 255).astype(np.uint8)
    labels = np.argmax(y, axis=1)
    plan = draw_pairs(labels, 6, np.random.default_rng(2), max_shift=4)
    return PairExamples(crops, labels, plan, 10, canvas=CANVAS)[np.arange(6)]


@pytest.fixture(scope="module")
def two_digit_capsnet():
    keras.utils.set_random_seed(4)
    return capsnet.build_capsnet((CANVAS, CANVAS, 1), shift_pixels=0, digits_per_image=2)


def test_loss_is_two_positive_margin_plus_each_digits_reconstruction(two_digit_capsnet, small_pairs):
    train = two_digit_capsnet.train
    training.compile_for_training(train)
    inputs, targets = small_pairs
    x, label_1, label_2, digit_1, digit_2 = inputs
    expected = reference.two_digit_capsnet(
        x, label_1, label_2, digit_1, digit_2, keras_weights(train), lam_recon=capsnet.losses.LAM_RECON
    )
    result = train.evaluate(inputs, targets, batch_size=6, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["loss"], expected["loss"], rtol=2e-5)
    lengths, reconstruction_1, reconstruction_2 = train.predict(inputs, verbose=0)
    np.testing.assert_allclose(lengths, expected["lengths"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(reconstruction_1, expected["reconstructions"][0], atol=1e-5)
    np.testing.assert_allclose(reconstruction_2, expected["reconstructions"][1], atol=1e-5)
    both = reference.both_right(lengths, np.stack([np.argmax(label_1, 1), np.argmax(label_2, 1)], 1))
    np.testing.assert_allclose(result["length_accuracy"], both.mean(), atol=1e-6)


def test_evaluation_reconstructs_from_the_two_longest_capsules(two_digit_capsnet, small_pairs):
    x = small_pairs[0][0]
    lengths, first, second = two_digit_capsnet.evaluate.predict(x, verbose=0)
    order = np.argsort(-lengths, axis=1)
    train = two_digit_capsnet.train
    for rank, reconstruction in ((0, first), (1, second)):
        label = np.eye(10, dtype="float32")[order[:, rank]]
        by_label = train.predict([x, label, label, x, x], verbose=0)[1]
        np.testing.assert_allclose(reconstruction, by_label, atol=1e-6)


def test_mask_keeps_the_nth_longest_capsule():
    capsules = np.zeros((2, 4, 2), "float32")
    capsules[0, :, 0] = [0.1, 0.9, 0.5, 0.2]
    capsules[1, :, 1] = [0.7, 0.7, 0.3, 0.0]  # a tie: the first is the longest, the second next
    second = ops.convert_to_numpy(Mask(rank=2)(capsules)).reshape(2, 4, 2)
    assert np.flatnonzero(np.abs(second).sum(-1)[0]).tolist() == [2]
    assert np.flatnonzero(np.abs(second).sum(-1)[1]).tolist() == [1]
    assert Mask.from_config(Mask(rank=2).get_config()).rank == 2
    assert "rank" not in Mask().get_config()
    with pytest.raises(ValueError, match="rank"):
        Mask(rank=0)


def test_both_right_metric_on_a_hand_worked_case():
    lengths = np.array([[0.9, 0.8, 0.1], [0.9, 0.1, 0.8], [0.1, 0.2, 0.9]], "float32")
    truth = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], "float32")
    assert ops.convert_to_numpy(metrics.all_classes_right(truth, lengths)).tolist() == [1.0, 0.0, 1.0]
    labels = np.array([[0, 1], [0, 1], [1, 2]])
    assert found_classes(lengths, labels).tolist() == [2, 1, 2]
    rows = per_class_of_pairs(np.argsort(-lengths, 1)[:, :2], labels)
    assert [(r["class"], r["images"], r["correct"]) for r in rows] == [(0, 2, 2), (1, 3, 2), (2, 1, 1)]


def test_metric_agrees_with_the_reference_on_random_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.random((200, 10)).astype("float32")
    labels = np.array([rng.choice(10, 2, replace=False) for _ in range(200)])
    truth = np.eye(10, dtype="float32")[labels].sum(axis=1)
    got = ops.convert_to_numpy(metrics.all_classes_right(truth, lengths))
    np.testing.assert_array_equal(got, reference.both_right(lengths, labels))
    np.testing.assert_array_equal(found_classes(lengths, labels) == 2, got == 1)


def test_files_keep_two_digits_per_image_and_both_reconstructions(two_digit_capsnet, tmp_path, small_pairs):
    path = tmp_path / "pairs.keras"
    atomic_save(two_digit_capsnet.train, path)
    loaded = load_capsnet(path)
    assert digits_per_image(loaded.train) == digits_per_image(loaded.evaluate) == 2
    assert len(loaded.evaluate.outputs) == 3
    x = small_pairs[0][0]
    before_and_after = [views.evaluate.predict(x, verbose=0) for views in (two_digit_capsnet, loaded)]
    for before, after in zip(*before_and_after, strict=True):
        np.testing.assert_allclose(before, after, atol=1e-6)
    classifier = models.classifier_only(loaded)
    assert digits_per_image(classifier.train) == 2
    assert models.get_family("capsnet").architecture(loaded.train)["lam_recon"] == capsnet.losses.LAM_RECON


def test_efficient_capsnet_takes_two_digits_and_trains(small_pairs):
    keras.utils.set_random_seed(1)
    built = models.build("efficient-capsnet", (CANVAS, CANVAS, 1), 10, shift_pixels=0, digits_per_image=2)
    training.compile_for_training(built.train)
    before = built.train.evaluate(*small_pairs, batch_size=6, verbose=0)
    for _ in range(3):
        logs = built.train.train_on_batch(*small_pairs, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] < before[0]
    assert len(built.evaluate.outputs) == 3 and digits_per_image(built.train) == 2


def test_in_model_shifts_are_refused_with_two_digits():
    with pytest.raises(ValueError, match="shift_pixels=0"):
        capsnet.build_capsnet((CANVAS, CANVAS, 1), digits_per_image=2)
    with pytest.raises(ValueError, match="digits_per_image"):
        capsnet.build_capsnet((CANVAS, CANVAS, 1), shift_pixels=0, digits_per_image=0)
