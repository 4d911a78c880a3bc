"""CapsNet for images above the paper's size: the strided stem before conv1 and
the transposed-convolution decoder, against the numpy reference, and their
defaults by image size."""

import keras
import numpy as np
import pytest
from keras import ops

import capsnet
from capsnet import flops
from capsnet import models as families
from capsnet.errors import CapsNetInputError
from capsnet.model_files import load_capsnet
from capsnet.models import image_sizes
from capsnet.models.capsnet.model import smallest_image_side
from capsnet.models.large_images import deconv_decoder
from tests import reference


def numpy_of(variable):
    return ops.convert_to_numpy(variable).astype(np.float64)


@pytest.mark.parametrize(
    "shape, blocks, decoder",
    [
        ((28, 28, 1), 0, "dense"),
        ((32, 32, 3), 0, "dense"),
        ((40, 40, 1), 0, "dense"),
        ((41, 41, 3), 1, "deconv"),
        ((64, 32, 3), 0, "deconv"),  # the shorter side sets the stem, the longer the decoder
        ((224, 224, 3), 3, "deconv"),
        ((500, 375, 3), 4, "deconv"),
    ],
)
def test_the_defaults_by_image_size(shape, blocks, decoder):
    assert image_sizes.default_stem_blocks(shape) == blocks
    assert image_sizes.default_decoder_type(shape) == decoder


def test_the_paper_network_is_untouched_at_28x28():
    train = capsnet.build_capsnet().train
    names = [layer.name for layer in train.layers]
    assert "stem" not in names and train.count_params() == 8_215_568
    architecture = families.family_of_model(train).architecture(train)
    assert (architecture["stem_blocks"], architecture["decoder_type"]) == (0, "dense")


def test_a_224x224_photo_gets_as_many_primary_capsules_as_a_digit():
    models = capsnet.build_capsnet((224, 224, 3), num_classes=100, class_capsules="shared")
    train = models.train
    assert train.get_layer("conv1").input.shape[1:] == (28, 28, 64)
    assert train.get_layer("primarycaps").output.shape[1:] == (1152, 8)
    stem_params = (3 * 3 * 3 * 64 + 64) + 2 * (3 * 3 * 64 * 64 + 64)
    assert train.get_layer("stem").count_params() == stem_params
    architecture = families.family_of_model(train).architecture(train)
    assert (architecture["stem_blocks"], architecture["decoder_type"]) == (3, "deconv")
    assert models.evaluate.output_shape[1] == (None, 224, 224, 3)


def test_the_stem_and_the_capsules_match_the_reference():
    keras.utils.set_random_seed(3)
    models = capsnet.build_capsnet((46, 44, 2), num_classes=4, stem_blocks=1, shift_pixels=0)
    train = models.train
    images = np.random.default_rng(0).random((2, 46, 44, 2)).astype("float32")
    stem = [(numpy_of(layer.kernel), numpy_of(layer.bias)) for layer in train.get_layer("stem").layers]
    # (2, 23, 22, 64); the even sides pad one row and one column, after
    features = reference.stem(images.astype(np.float64), stem)
    conv1, primary = train.get_layer("conv1"), train.get_layer("primarycaps")
    hidden = reference.relu(reference.conv2d(features, numpy_of(conv1.kernel), numpy_of(conv1.bias), 1))
    maps = reference.conv2d(hidden, numpy_of(primary.kernel), numpy_of(primary.bias), 2)
    u = reference.squash(maps.reshape(2, -1, 8))
    v = reference.routing(u, numpy_of(train.get_layer("digitcaps").kernel), 3)
    lengths = models.evaluate.predict(images, verbose=0)[0]
    np.testing.assert_allclose(lengths, np.linalg.norm(v, axis=-1), rtol=1e-4, atol=1e-6)


def test_the_deconv_decoder_matches_the_reference_and_crops_to_the_image():
    keras.utils.set_random_seed(4)
    shape = (20, 18, 3)  # from a 5x5 grid, doubled twice to 20x20, then two columns dropped
    decoder = deconv_decoder(num_classes=3, dim_class_capsule=4, output_shape=shape)
    masked = np.random.default_rng(1).normal(size=(2, 12)).astype("float32")
    layers = [layer for layer in decoder.layers if layer.weights]
    dense, *transposed, last = [(numpy_of(layer.kernel), numpy_of(layer.bias)) for layer in layers]
    assert len(transposed) == 2 and transposed[0][0].shape == (3, 3, 64, 128)
    expected = reference.deconv_decode(
        masked.astype(np.float64), (*dense, (5, 5, 128)), transposed, last, shape
    )
    got = ops.convert_to_numpy(decoder(masked))
    assert got.shape == (2, *shape)
    # the sigmoid and the crop compute in float32 under mixed precision too
    assert [layer.dtype_policy.compute_dtype for layer in decoder.layers[-2:]] == ["float32"] * 2
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_a_large_model_saves_loads_and_keeps_its_views(tmp_path):
    models = capsnet.build_capsnet((48, 48, 1), num_classes=3, shift_pixels=0)
    images = np.random.default_rng(2).random((2, 48, 48, 1)).astype("float32")
    before = models.evaluate.predict(images, verbose=0)
    models.train.save(tmp_path / "large.keras")
    loaded = load_capsnet(tmp_path / "large.keras")
    after = loaded.evaluate.predict(images, verbose=0)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    classifier = families.classifier_only(loaded)
    np.testing.assert_allclose(classifier.evaluate.predict(images, verbose=0), after[0], rtol=1e-6, atol=1e-7)
    assert families.family_of_model(loaded.train).architecture(loaded.train)["stem_blocks"] == 1


def test_the_stem_needs_an_image_it_can_halve():
    assert smallest_image_side(9, stem_blocks=2) == 65
    capsnet.build_capsnet((65, 65, 1), stem_blocks=2, decoder=False)
    with pytest.raises(CapsNetInputError, match="at least 65x65 pixels.*after 2 stride-2 stem blocks"):
        capsnet.build_capsnet((64, 64, 1), stem_blocks=2)


@pytest.mark.parametrize(
    "options, match", [({"decoder_type": "pixel"}, "dense, deconv"), ({"stem_blocks": -1}, "stem_blocks")]
)
def test_bad_options_are_refused(options, match):
    with pytest.raises(ValueError, match=match):
        capsnet.build_capsnet(**options)
    with pytest.raises(ValueError, match=match):
        capsnet.build_capsnet(decoder=False, **options)


def test_efficient_capsnet_takes_the_deconv_decoder():
    for shape, decoder_type in (((28, 28, 1), "dense"), ((64, 64, 3), "deconv")):
        train = families.build("efficient-capsnet", shape, 5).train
        assert families.family_of_model(train).architecture(train)["decoder_type"] == decoder_type


def test_transposed_convolutions_are_counted_by_hand():
    decoder = deconv_decoder(num_classes=2, dim_class_capsule=4, output_shape=(16, 16, 1))
    # 16 / 2 = 8: one doubling, from an 8x8x128 grid to 16x16x64, then 3x3 to one channel
    dense = 8 * (8 * 8 * 128)
    transposed = (8 * 8) * (3 * 3 * 64 * 128)  # every input pixel meets the whole kernel
    last = (16 * 16) * (3 * 3 * 64 * 1)
    assert flops.forward_flops(decoder) == 2 * (dense + transposed + last)
