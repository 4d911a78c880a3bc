"""The whole Efficient-CapsNet against the independent float64 reference, on real digits."""

import keras
import numpy as np
import pytest
from keras import ops

from capsnet.errors import CapsNetInputError
from capsnet.model_files import atomic_save, load_capsnet
from capsnet.models.efficient_capsnet.model import build_efficient_capsnet
from tests import reference


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(5)
    models = build_efficient_capsnet(shift_pixels=0)
    # Moving statistics other than 0 and 1, so that inference-mode batch norm is checked.
    rng = np.random.default_rng(0)
    for layer in models.train.get_layer("backbone").layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.gamma.shape
            layer.gamma.assign(rng.uniform(0.5, 1.5, channels))
            layer.beta.assign(rng.normal(0, 0.1, channels))
            layer.moving_mean.assign(rng.uniform(0, 0.5, channels))
            layer.moving_variance.assign(rng.uniform(0.5, 2, channels))
    priors = models.train.get_layer("digitcaps").log_priors
    priors.assign(rng.normal(0, 0.05, priors.shape))
    return models


def reference_weights(train):
    backbone = train.get_layer("backbone")
    weights = {}
    for n in range(1, 5):
        conv, bn = backbone.get_layer(f"conv{n}"), backbone.get_layer(f"batch_norm{n}")
        weights.update({f"conv{n}_kernel": conv.kernel, f"conv{n}_bias": conv.bias})
        weights.update(
            {
                f"bn{n}_gamma": bn.gamma,
                f"bn{n}_beta": bn.beta,
                f"bn{n}_mean": bn.moving_mean,
                f"bn{n}_variance": bn.moving_variance,
            }
        )
    primary, digits = train.get_layer("primarycaps"), train.get_layer("digitcaps")
    weights.update(primary_kernel=primary.kernel, primary_bias=primary.bias)
    weights.update(W=digits.kernel, B=digits.log_priors)
    dense = [layer for layer in train.get_layer("decoder").layers if layer.weights]
    for n, layer in enumerate(dense, start=1):
        weights.update({f"dense{n}_kernel": layer.kernel, f"dense{n}_bias": layer.bias})
    return {name: ops.convert_to_numpy(value).astype(np.float64) for name, value in weights.items()}


def test_parameter_count_is_the_papers(models):
    """161,824 trainable parameters without the decoder (Mazzia et al., 2021)."""
    train = models.train
    capsule_part = [train.get_layer(name) for name in ("backbone", "primarycaps", "digitcaps")]
    trainable = sum(sum(int(np.prod(w.shape)) for w in layer.trainable_weights) for layer in capsule_part)
    assert trainable == 161_824


def test_forward_and_loss_match_the_reference(models, four_digits):
    x, y = four_digits
    expected = reference.efficient_capsnet(x, y, reference_weights(models.train))
    lengths, reconstruction = (ops.convert_to_numpy(t) for t in models.train([x, y]))
    np.testing.assert_allclose(lengths, expected["lengths"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reconstruction, expected["reconstruction"], atol=1e-5)
    eval_lengths, _ = (ops.convert_to_numpy(t) for t in models.evaluate(x))
    np.testing.assert_allclose(eval_lengths, expected["lengths"], rtol=1e-4, atol=1e-6)
    from capsnet import margin_loss

    loss = float(ops.mean(margin_loss(y, lengths))) + float(sum(models.train.losses))
    assert loss == pytest.approx(expected["loss"], rel=1e-5)


def test_a_smaller_strided_primary_kernel_matches_the_reference(four_digits):
    """A 5x5 kernel at stride 2 on the 9x9 grid: 3x3 positions of 16 capsules each."""
    x, y = four_digits
    keras.utils.set_random_seed(6)
    models = build_efficient_capsnet(shift_pixels=0, primary_kernel_size=5, primary_strides=2)
    priors = models.train.get_layer("digitcaps").log_priors
    priors.assign(np.random.default_rng(1).normal(0, 0.05, priors.shape))
    expected = reference.efficient_capsnet(x, y, reference_weights(models.train), primary_stride=2)
    assert expected["primary"].shape == (len(x), 144, 8)
    lengths, reconstruction = (ops.convert_to_numpy(t) for t in models.train([x, y]))
    np.testing.assert_allclose(lengths, expected["lengths"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reconstruction, expected["reconstruction"], atol=1e-5)


def test_a_primary_kernel_larger_than_the_grid_is_refused():
    with pytest.raises(CapsNetInputError, match="does not fit the 9x9 grid.*use at most 9"):
        build_efficient_capsnet(primary_kernel_size=10)


def test_saved_model_reloads_as_efficient_capsnet(models, four_digits, tmp_path):
    x, _ = four_digits
    path = tmp_path / "model.keras"
    atomic_save(models.train, path)
    loaded = load_capsnet(path)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.evaluate(x)[0]), ops.convert_to_numpy(models.evaluate(x)[0]), atol=1e-6
    )
    assert loaded.manipulate is not None


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="at least 11x11"):
        build_efficient_capsnet(input_shape=(10, 28, 1))
    assert build_efficient_capsnet(input_shape=(11, 11, 3), decoder=False).train.output_shape == (None, 10)


def test_backbone_convolutions_take_the_registered_relu_conv(models, four_digits):
    """Each of the four ReLU convolutions asks `capsnet.fast_ops` for "relu_conv", so
    a backend plug-in can swap in its faster one; the outputs stay the plain op's."""
    from capsnet import fast_ops
    from capsnet.layers import ReLUConv2D
    from capsnet.layers.relu_conv import plain_relu_conv

    backbone = models.train.get_layer("backbone")
    assert [type(backbone.get_layer(f"conv{n}")) for n in range(1, 5)] == [ReLUConv2D] * 4
    images = four_digits[0]
    calls = []

    def counted(inputs, kernel, bias, strides):
        calls.append(strides)
        return plain_relu_conv(inputs, kernel, bias, strides)

    with fast_ops.restored_afterwards():
        fast_ops.unregister("relu_conv")
        plain = ops.convert_to_numpy(models.evaluate(images)[0])
        fast_ops.register("relu_conv", counted)
        counted_lengths = ops.convert_to_numpy(models.evaluate(images)[0])
    assert calls == [1, 1, 1, 2]
    np.testing.assert_allclose(counted_lengths, plain, atol=1e-6)
