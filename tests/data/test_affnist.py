"""affNIST: the batched warp against scipy.ndimage, the generated digits'
transformations, and the reader of the real .mat files on small files written here."""

import sys

import numpy as np
import pytest
from scipy import io, ndimage

from capsnet import data
from capsnet.data import affnist
from capsnet.data.affine import about_centres, warp
from capsnet.data.affnist import AffnistTransforms, affnist_generated, forward_matrices
from capsnet.errors import CapsNetInputError


@pytest.fixture(scope="module")
def digits():
    """The bundled sample's first 300 training and 200 test digits."""
    sample = data.load("sample")
    return sample._replace(
        x_train=sample.x_train[:300], y_train=sample.y_train[:300],
        x_test=sample.x_test[:200], y_test=sample.y_test[:200],
    )  # fmt: skip


@pytest.fixture(scope="module")
def warped(digits):
    return affnist_generated(digits, epoch_size=400, test_size=300)


def scipy_warp(image, matrix, offset, shape):
    """The reference: scipy's order-1 affine_transform, zeros outside the input."""
    return ndimage.affine_transform(
        image.astype(np.float64), matrix, offset, output_shape=shape, order=1, mode="grid-constant", cval=0.0
    )


# The warp ---------------------------------------------------------------------


def test_the_warp_matches_scipy_on_random_maps(rng):
    images = rng.random((12, 28, 28))
    matrices = np.eye(2) + rng.normal(0, 0.3, (12, 2, 2))
    offsets = rng.normal(-6, 4, (12, 2))
    out = warp(images, matrices, offsets, (40, 40))
    assert out.shape == (12, 40, 40) and out.dtype == np.float32
    for i in range(12):
        np.testing.assert_allclose(
            out[i], scipy_warp(images[i], matrices[i], offsets[i], (40, 40)), atol=1e-5
        )


def test_the_warp_matches_scipy_per_channel_on_uint8_and_odd_shapes(rng):
    images = rng.integers(0, 256, (5, 11, 17, 3), dtype=np.uint8)
    matrices = rng.normal(0, 1, (5, 2, 2))
    offsets = rng.normal(0, 5, (5, 2))
    out = warp(images, matrices, offsets, (13, 9))
    assert out.shape == (5, 13, 9, 3)
    for i in range(5):
        for channel in range(3):
            reference = scipy_warp(images[i, ..., channel], matrices[i], offsets[i], (13, 9))
            np.testing.assert_allclose(out[i, ..., channel], reference, atol=1e-3)  # 0..255 units


def test_the_warp_is_chunked_without_seams(rng, monkeypatch):
    from capsnet.data import affine

    images = rng.random((10, 8, 8))
    matrices = np.eye(2) + rng.normal(0, 0.2, (10, 2, 2))
    offsets = rng.normal(0, 2, (10, 2))
    whole = warp(images, matrices, offsets, (8, 8))
    monkeypatch.setattr(affine, "CHUNK", 3)
    np.testing.assert_array_equal(warp(images, matrices, offsets, (8, 8)), whole)


def test_maps_about_the_centres_pad_shift_and_turn_like_numpy(rng):
    digit = rng.random((1, 28, 28))
    identity = np.eye(2)[None]
    matrices, offsets = about_centres(identity, np.zeros((1, 2)), (28, 28), (40, 40))
    np.testing.assert_allclose(warp(digit, matrices, offsets, (40, 40))[0], np.pad(digit[0], 6), atol=1e-6)
    matrices, offsets = about_centres(identity, np.array([[-6.0, 5.0]]), (28, 28), (40, 40))
    expected = np.zeros((40, 40))
    expected[0:28, 11:39] = digit[0]  # 6 up, 5 right of the centred place (6, 6)
    np.testing.assert_allclose(warp(digit, matrices, offsets, (40, 40))[0], expected, atol=1e-6)


# The generated digits ---------------------------------------------------------


def pose(rotation=0.0, shear=0.0, down=1.0, across=1.0, shift=(0.0, 0.0)):
    return np.array([[rotation, shear, down, across, *shift]])


def test_a_positive_rotation_turns_the_digit_anticlockwise(digits):
    layout = AffnistTransforms((28, 28, 1))
    digit = digits.x_test[:1]
    turned = layout.render(digit, pose(rotation=90.0))
    expected = np.pad(np.rot90(digit[0, ..., 0] / 255.0), 6)  # numpy's rot90 turns anticlockwise
    np.testing.assert_allclose(turned[0, ..., 0], expected, atol=1e-5)


def test_the_linear_parts_are_rotation_shear_and_scale():
    identity = forward_matrices(pose())[0]
    np.testing.assert_allclose(identity, np.eye(2), atol=1e-12)
    sheared = forward_matrices(pose(shear=0.2))[0]
    np.testing.assert_allclose(sheared @ [1.0, 0.0], [1.0, 0.2])  # a row down moves 0.2 columns right
    np.testing.assert_allclose(sheared @ [0.0, 1.0], [0.0, 1.0])
    scaled = forward_matrices(pose(down=0.8, across=1.2))[0]
    np.testing.assert_allclose(scaled, np.diag([0.8, 1.2]), atol=1e-12)
    turned = forward_matrices(pose(rotation=30.0))[0]
    np.testing.assert_allclose(turned @ turned.T, np.eye(2), atol=1e-12)
    assert turned[0, 1] < 0  # the point right of the centre goes up: anticlockwise
    mixed = forward_matrices(pose(rotation=-15, shear=0.1, down=0.9, across=1.1))[0]
    assert np.linalg.det(mixed) == pytest.approx(0.9 * 1.1)  # rotation and shear keep areas


def test_sampled_parameters_stay_in_the_stated_ranges_and_fill_them(digits):
    layout = AffnistTransforms((28, 28, 1))
    chosen = np.arange(6000) % len(digits.x_train)
    poses = layout.draw(digits.x_train, chosen, np.random.default_rng(2))
    for column, low, high in ((0, -20, 20), (1, -0.2, 0.2), (2, 0.8, 1.2), (3, 0.8, 1.2)):
        values = poses[:, column]
        assert low <= values.min() and values.max() <= high
        margin = (high - low) / 50
        assert values.min() < low + margin and values.max() > high - margin
        counts = np.histogram(values, bins=10, range=(low, high))[0]
        assert np.all(np.abs(counts - 600) < 120), counts  # uniform: 600 a bin, sd ~23
    assert abs(np.corrcoef(poses[:, 2], poses[:, 3])[0, 1]) < 0.05  # the two scales drawn apart
    assert np.abs(poses[:, 4:]).max() > 5  # translations: large ones too


def test_every_digit_lies_whole_inside_the_canvas(warped):
    examples = warped.test_examples(10)
    chosen = np.arange(300)
    on_canvas = examples.pixels(chosen)
    big = AffnistTransforms((28, 28, 1), canvas=120)  # the same poses, room all round
    roomy = big.render(warped.digits.x_test[examples.plan.digit], examples.plan.pose)
    # Nothing cut: the 40x40 image holds all the ink that the big canvas holds.
    np.testing.assert_allclose(on_canvas.sum(axis=(1, 2, 3)), roomy.sum(axis=(1, 2, 3)), rtol=1e-5)
    assert on_canvas.shape == (300, 40, 40, 1) and 0 <= on_canvas.min() and on_canvas.max() <= 1


def test_images_are_the_digits_warped_as_scipy_warps_them(warped):
    examples = warped.test_examples(10)
    pixels = examples.pixels(np.arange(5))
    shape = examples.layout.digit_shape
    matrices, offsets = about_centres(
        forward_matrices(examples.plan.pose[:5]), examples.plan.pose[:5, 4:], shape, (40, 40)
    )
    for i in range(5):
        digit = warped.digits.x_test[examples.plan.digit[i], ..., 0] / 255.0
        np.testing.assert_allclose(
            pixels[i, ..., 0], scipy_warp(digit, matrices[i], offsets[i], (40, 40)), atol=1e-5
        )


def test_translations_spread_over_the_canvas(warped):
    examples = affnist_generated(warped.digits, test_size=4000).test_examples(10)
    pixels = examples.pixels(np.arange(4000))[..., 0]
    rows, cols = np.nonzero(pixels.sum(axis=2))[1], np.nonzero(pixels.sum(axis=1))[1]
    assert rows.min() == 0 and rows.max() == 39 and cols.min() == 0 and cols.max() == 39  # edges reached
    weights = pixels.sum(axis=(1, 2))
    centre_row = (pixels.sum(axis=2) * np.arange(40)).sum(axis=1) / weights
    assert centre_row.std() > 2.5  # digits sit high and low, not all in the middle


def test_same_seed_same_transforms_each_epoch_new_ones_and_a_fixed_test_set(warped, digits):
    examples = warped.train_examples(10)
    first, again, later = examples.at_epoch(4, 0), examples.at_epoch(4, 0), examples.at_epoch(4, 1)
    np.testing.assert_array_equal(first.plan.pose, again.plan.pose)
    np.testing.assert_array_equal(first.pixels(np.arange(10)), again.pixels(np.arange(10)))
    assert not np.array_equal(first.plan.pose, later.plan.pose)
    fresh = affnist_generated(digits, test_size=300).test_examples(10)
    np.testing.assert_array_equal(
        warped.test_examples(10).pixels(np.arange(300)), fresh.pixels(np.arange(300))
    )
    assert fresh.plan.digit.tolist() == [i % 200 for i in range(300)]  # every test digit, then again


def test_a_smaller_generated_test_set_is_the_start_of_a_larger_one(digits):
    small = affnist_generated(digits, test_size=40).test_examples(10)
    large = affnist_generated(digits, test_size=12_000).test_examples(10)
    assert len(large) == 12_000
    np.testing.assert_array_equal(small.plan.pose, large.plan.pose[:40])
    np.testing.assert_array_equal(small[np.arange(40)][0][0], large[np.arange(40)][0][0])


def test_the_generated_dataset_looks_like_a_dataset(digits, tmp_path):
    path = tmp_path / "digits.npz"
    np.savez(path, **{k: getattr(digits, k) for k in ("x_train", "y_train", "x_test", "y_test")})
    made = data.load("affnist-generated", path=path, generated={"epoch_size": 100, "test_size": 50})
    assert made.input_shape == (40, 40, 1) and made.digits_per_image == 1
    assert (made.num_train, made.num_test, made.num_classes) == (100, 50, 10)
    (x, y), (target_y, target_x) = made.train_examples(10)[np.arange(8)]
    assert x.shape == (8, 40, 40, 1) and x.dtype == np.float32 and y.shape == (8, 10)
    assert target_x is x and target_y is y
    (x_only,) = made.test_examples(10).inputs_only()[np.arange(3)]
    assert x_only.shape == (3, 40, 40, 1)
    with pytest.raises(CapsNetInputError, match="affnist-generated's epoch_size"):
        affnist_generated(digits, epoch_size=-1)


# The real files ------------------------------------------------------------------


def marked_digits(count):
    """40x40 uint8 images of an upright "Γ": a bar down the left, a bar along the top,
    and a dot at the bottom right, moved one pixel right per image."""
    images = np.zeros((count, 40, 40), np.uint8)
    for i in range(count):
        images[i, 5:30, 5 + i] = 255  # the stem, down the left
        images[i, 5, 5 + i : 20 + i] = 200  # the arm, along the top
        images[i, 33, 34] = 100
    return images


def write_affnist(path, images, labels, **fields):
    """A .mat file as affNIST's: a struct affNISTdata, `image` (1600, n) with each
    column one image row by row, `label_int` (1, n) and `label_one_of_n` (10, n)."""
    n = len(images)
    struct = {
        "image": images.reshape(n, -1).T.copy(),
        "label_int": np.asarray(labels, np.uint8)[None, :],
        "label_one_of_n": np.eye(10, dtype=np.uint8)[labels].T.copy(),
        "human_readable_transform": np.zeros((5, n)),
        "index": np.arange(n)[None, :],
    }
    struct.update(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.savemat(path, {"affNISTdata": struct})
    return path


def test_one_mat_file_comes_out_upright_as_both_splits(tmp_path):
    images, labels = marked_digits(6), np.array([3, 1, 4, 1, 5, 9])
    path = write_affnist(tmp_path / "test.mat", images, labels)
    loaded = data.load(path=path)
    assert loaded.x_test.shape == (6, 40, 40, 1) and loaded.x_test.dtype == np.uint8
    np.testing.assert_array_equal(loaded.x_test[..., 0], images)  # the stem on the left, not on top
    assert loaded.x_test[0, 20, 5, 0] == 255 and loaded.x_test[0, 5, 20, 0] == 0
    assert loaded.y_test.tolist() == labels.tolist() and loaded.y_test.dtype == np.int64
    assert np.shares_memory(loaded.x_train, loaded.x_test)  # one array, not a copy per split
    assert loaded.input_shape == (40, 40, 1)


def test_a_folder_of_batches_splits_by_name_in_number_order(tmp_path):
    root = tmp_path / "affnist"
    for number in (1, 2, 10):
        write_affnist(root / "test_batches" / f"{number}.mat", marked_digits(2), [number % 10, 7])
    write_affnist(root / "training_and_validation_batches" / "1.mat", marked_digits(3), [0, 1, 2])
    loaded = data.load(path=root)
    assert loaded.y_test.tolist() == [1, 7, 2, 7, 0, 7]  # 1.mat, 2.mat, 10.mat
    assert loaded.y_train.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(loaded.x_test[..., 0], np.concatenate([marked_digits(2)] * 3))


def test_a_folder_of_test_batches_alone_is_both_splits(tmp_path):
    root = tmp_path / "test_batches"
    write_affnist(root / "1.mat", marked_digits(2), [0, 1])
    write_affnist(root / "2.mat", marked_digits(2), [2, 3])
    for path in (root, tmp_path):  # the batch folder itself, or the folder above it
        loaded = data.load(path=path)
        assert loaded.y_test.tolist() == loaded.y_train.tolist() == [0, 1, 2, 3]
        assert np.shares_memory(loaded.x_train, loaded.x_test)  # joined once, for both splits


def test_whole_set_files_side_by_side(tmp_path):
    write_affnist(tmp_path / "just_centered" / "test.mat", marked_digits(2), [5, 6])
    write_affnist(tmp_path / "just_centered" / "training.mat", marked_digits(2), [1, 2])
    write_affnist(tmp_path / "just_centered" / "validation.mat", marked_digits(2), [3, 4])
    loaded = data.load(path=tmp_path / "just_centered")
    assert loaded.y_test.tolist() == [5, 6] and loaded.y_train.tolist() == [1, 2]


def test_labels_may_come_one_hot_only(tmp_path):
    path = tmp_path / "test.mat"
    io.savemat(
        path,
        {
            "affNISTdata": {
                "image": marked_digits(3).reshape(3, -1).T,
                "label_one_of_n": np.eye(10)[[4, 0, 9]].T,
            }
        },
    )
    assert data.load(path=path).y_test.tolist() == [4, 0, 9]


def one_line_error(path, *words):
    with pytest.raises(CapsNetInputError) as raised:
        data.load(path=path)
    message = str(raised.value)
    assert "\n" not in message and "--" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_bad_files_are_one_line_input_errors(tmp_path):
    text = tmp_path / "notes.mat"
    text.write_text("not a MATLAB file\nat all\n")
    one_line_error(text, "is not a readable MATLAB file", "path=")
    other = tmp_path / "other.mat"
    io.savemat(other, {"digits": np.zeros((3, 3))})
    one_line_error(other, "holds no affNISTdata")
    matrix = tmp_path / "matrix.mat"
    io.savemat(matrix, {"affNISTdata": np.zeros((1600, 2))})
    one_line_error(matrix, "without an image field")
    small = write_affnist(tmp_path / "small.mat", np.zeros((2, 30, 30), np.uint8), [0, 1])
    small_images = tmp_path / "odd.mat"
    io.savemat(small_images, {"affNISTdata": {"image": np.zeros((1000, 2), np.uint8), "label_int": [[0, 1]]}})
    one_line_error(small_images, "(1000, 2)", "expected (1600, n)")
    assert data.load(path=small).input_shape == (30, 30, 1)  # any square size reads
    counted = tmp_path / "counted.mat"
    io.savemat(counted, {"affNISTdata": {"image": np.zeros((1600, 3), np.uint8), "label_int": [[0, 1]]}})
    one_line_error(counted, "3 images but 2 labels")
    unlabelled = tmp_path / "unlabelled.mat"
    io.savemat(unlabelled, {"affNISTdata": {"image": np.zeros((1600, 2), np.uint8)}})
    one_line_error(unlabelled, "no label_int")
    one_line_error(tmp_path / "missing.mat", "not found", "an affNIST .mat file")


def test_a_folder_mixing_image_sizes_is_refused(tmp_path):
    write_affnist(tmp_path / "test_batches" / "1.mat", marked_digits(2), [0, 1])
    write_affnist(tmp_path / "test_batches" / "2.mat", np.zeros((2, 28, 28), np.uint8), [0, 1])
    one_line_error(tmp_path, "mixes images of 28x28, 40x40 pixels")


def test_without_scipy_the_reader_says_how_to_install_it(tmp_path, monkeypatch):
    path = write_affnist(tmp_path / "test.mat", marked_digits(2), [0, 1])
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # `from scipy.io import ...` now raises ImportError
    assert affnist.is_mat_folder(tmp_path)
    one_line_error(path, "needs scipy", "pip install scipy")
