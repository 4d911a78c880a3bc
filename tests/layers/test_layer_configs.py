"""Every registered capsnet layer survives get_config / from_config and a save and
load inside a model, with the same weights and outputs (what Keras's own
`run_layer_test` checks for its layers)."""

import keras
import numpy as np
import pytest

import capsnet.layers as layers

# class name -> (the layer, its inputs' shapes without the batch axis, a list of
# shapes for layers that take several inputs).
CASES = {
    "CapsuleLayer": (lambda: layers.CapsuleLayer(3, 4, routings=2, name="case"), [(12, 8)]),
    "ClassProbabilities": (
        lambda: layers.ClassProbabilities(
            class_names=["a", "b", "c"], model_family="cnn-baseline", name="case"
        ),
        [(3,)],
    ),
    "DepthwisePrimaryCapsule": (
        lambda: layers.DepthwisePrimaryCapsule(4, kernel_size=3, name="case"),
        [(3, 3, 8)],
    ),
    "Length": (
        lambda: layers.Length(class_names=["a", "b", "c"], model_family="capsnet", name="case"),
        [(3, 4)],
    ),
    "Mask": (lambda: layers.Mask(name="case"), [(3, 4), (3,)]),
    "PrimaryCapsule": (
        lambda: layers.PrimaryCapsule(2, 4, kernel_size=3, strides=2, name="case"),
        [(9, 9, 4)],
    ),
    "RandomShift": (lambda: layers.RandomShift(1, seed=3, name="case"), [(6, 6, 1)]),
    "ReconstructionLoss": (lambda: layers.ReconstructionLoss(0.5, name="case"), [(4, 4, 1), (4, 4, 1)]),
    "ReLUConv2D": (lambda: layers.ReLUConv2D(4, 3, name="case"), [(6, 6, 2)]),
    "SelfAttentionCapsuleLayer": (lambda: layers.SelfAttentionCapsuleLayer(3, 4, name="case"), [(6, 8)]),
    "SharedCapsuleLayer": (
        lambda: layers.SharedCapsuleLayer(3, 4, (2, 3), 2, routings=2, coordinate_addition=True, name="case"),
        [(12, 8)],
    ),
}


def _registered_layer_classes():
    return sorted(
        key.split(">", 1)[1]
        for key, value in keras.saving.get_custom_objects().items()
        if key.startswith("capsnet>") and isinstance(value, type) and issubclass(value, keras.layers.Layer)
    )


def test_every_registered_layer_has_a_case():
    assert _registered_layer_classes() == sorted(CASES)


def _model(make, shapes):
    inputs = [keras.Input(shape) for shape in shapes]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    return keras.Model(inputs, make()(inputs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip_and_save_load(name, tmp_path):
    make, shapes = CASES[name]
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config

    model = _model(make, shapes)
    rng = np.random.default_rng(0)
    x = [rng.random((2, *shape), dtype="float32") for shape in shapes]
    if name == "Mask":
        x[1] = np.eye(3, dtype="float32")[[0, 2]]
    x = x if len(x) > 1 else x[0]
    expected = keras.ops.convert_to_numpy(model(x))
    model.save(tmp_path / "layer.keras")
    loaded = keras.saving.load_model(tmp_path / "layer.keras")
    assert loaded.get_layer("case").get_config() == model.get_layer("case").get_config()
    for saved, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(saved), keras.ops.convert_to_numpy(restored))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), expected)
