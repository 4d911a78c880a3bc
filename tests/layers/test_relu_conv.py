"""ReLUConv2D (conv1): Keras's Conv2D with ReLU, its op swappable through capsnet.fast_ops."""

import keras
import numpy as np
import pytest

from capsnet import fast_ops
from capsnet.layers import ReLUConv2D
from tests import reference


def test_equals_relu_of_the_reference_conv_plus_bias(rng):
    x = rng.normal(size=(2, 12, 11, 3)).astype("float32")
    layer = ReLUConv2D(5, 3, strides=2)
    layer.build(x.shape)
    layer.bias.assign(rng.normal(size=(5,)).astype("float32"))
    outputs = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in (layer.kernel, layer.bias))
    expected = reference.relu(reference.conv2d(x, kernel, bias, 2))
    assert outputs.shape == (2, 5, 5, 5)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_takes_the_registered_op_in_the_plain_case_only(rng):
    calls = []

    def spy(inputs, kernel, bias, strides):
        calls.append(strides)
        return keras.ops.zeros((inputs.shape[0], 3, 3, 4))

    x = rng.normal(size=(1, 5, 5, 2)).astype("float32")
    # The registry as it was afterwards: a plug-in's own relu_conv stays for later tests.
    with fast_ops.restored_afterwards():
        fast_ops.register("relu_conv", spy)
        assert float(keras.ops.sum(ReLUConv2D(4, 3)(x))) == 0.0
        assert calls == [1]
        # Conv2D's own call wherever the registered op's signature cannot say what the layer does
        for other in ({"padding": "same"}, {"activation": "tanh"}, {"use_bias": False}, {"dilation_rate": 2}):
            ReLUConv2D(4, 2 if "dilation_rate" in other else 3, **other)(x)
        assert calls == [1]


def test_serializes_with_its_config_and_weights(rng, tmp_path):
    inputs = keras.Input((10, 10, 1))
    model = keras.Model(inputs, ReLUConv2D(4, 3, name="conv1")(inputs))
    x = rng.normal(size=(2, 10, 10, 1)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("conv1")) is ReLUConv2D
    assert loaded.get_layer("conv1").get_config()["activation"] == "relu"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6
    )


@pytest.mark.parametrize("bad", [{"filters": 0}, {"kernel_size": -1}])
def test_rejects_what_conv2d_rejects(bad):
    with pytest.raises(ValueError):
        ReLUConv2D(**{"filters": 4, "kernel_size": 3, **bad})
